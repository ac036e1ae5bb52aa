// The job's permission knowledge (src/graph/permissions.ts) agrees with the emulator's route table, which holds
// what each docs page lists; the job may not import src/sim, so the two are compared here.
import { describe, expect, it } from 'vitest';
import { GraphAuthError } from '../../src/graph/errors';
import { toTypedError } from '../../src/graph/client';
import { JOB_REQUEST_PERMISSIONS, missingPermissionHint, requestPermissions } from '../../src/graph/permissions';
import { routeRow } from '../../src/sim/route-table';

describe('the job\'s Graph permissions', () => {
  it.each(JOB_REQUEST_PERMISSIONS.map((r) => [`${r.method} ${r.template}`, r] as const))('%s matches the route table', (_, r) => {
    const row = routeRow(r.method, r.template);
    expect(row, `no route-table row for ${r.method} ${r.template}`).toBeDefined();
    expect(r.permissions).toEqual(row!.permissions);
    expect(r.docs).toBe(row!.docs);
  });

  it('finds the page of a request by its URL, relative, versioned or absolute, with or without a query', () => {
    expect(requestPermissions('GET', '/users?$select=id&$top=999')?.permissions[0]).toBe('User.Read.All');
    expect(requestPermissions('GET', 'https://graph.microsoft.com/v1.0/groups/abc/transitiveMembers?$skiptoken=x')?.template).toBe('/groups/{id}/transitiveMembers');
    expect(requestPermissions('get', '/v1.0/roleManagement/directory/roleAssignments?$filter=x')?.permissions[0]).toBe('RoleManagement.Read.Directory');
    expect(requestPermissions('GET', '/users/$count')).toBeUndefined();
    expect(missingPermissionHint('GET', '/devices')).toBe(
      'grant the Microsoft Graph application permission Device.Read.All (or one of Device.ReadWrite.All, Directory.Read.All, Directory.ReadWrite.All) to the identity; GET /devices needs it (api-reference/v1.0/api/device-list.md).',
    );
  });

  it('names the missing permission in a 403, as a field and in the message', () => {
    const e = toTypedError({ statusCode: 403, code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' }, 'GET', '/reports/authenticationMethods/userRegistrationDetails');
    expect(e).toBeInstanceOf(GraphAuthError);
    expect((e as GraphAuthError).permissions).toEqual(['AuditLog.Read.All']);
    expect(e.message).toContain('needs the application permission AuditLog.Read.All');
  });
});
