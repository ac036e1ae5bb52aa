// Enforcement group membership writes. Both are idempotent, so a crashed run can re-drive them:
// "already a member" on add and "not a member" on remove count as success.
import type { BatchRequest, Graph } from '../graph/client';

/** A write Graph did not carry out: its status (0: no answer), Graph's error code and the error text. */
export interface WriteFailure {
  status: number;
  code: string;
  text: string;
}

/** Per user id: null when the write took effect (or was already true), else how it failed. */
export type WriteResults = Map<string, WriteFailure | null>;

function failure(status: number | undefined, body: unknown): WriteFailure {
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  return { status: status ?? 0, code: typeof code === 'string' ? code : 'Unknown', text: `${status ?? 'no response'} ${JSON.stringify(body ?? '').slice(0, 200)}` };
}

/**
 * Adds users to a group. One POST members/$ref per user inside $batch rather than one bulk PATCH:
 * only the per-user form can report "already a member" as success.
 * https://learn.microsoft.com/graph/api/group-post-members (api-reference/v1.0/api/group-post-members.md)
 */
export async function addMembers(graph: Graph, groupId: string, userIds: readonly string[]): Promise<WriteResults> {
  const requests: BatchRequest[] = userIds.map((id, i) => ({
    id: String(i),
    method: 'POST',
    url: `/groups/${groupId}/members/$ref`,
    body: { '@odata.id': `${graph.baseUrl}/v1.0/directoryObjects/${id}` },
  }));
  const responses = await graph.batch(requests);
  const results: WriteResults = new Map();
  userIds.forEach((id, i) => {
    const r = responses.get(String(i));
    const ok = r && (r.status === 204 || r.status === 200 || (r.status === 400 && /already exist/i.test(JSON.stringify(r.body ?? ''))));
    results.set(id, ok ? null : failure(r?.status, r?.body));
  });
  return results;
}

/**
 * Removes users from a group; 404 (not a member) counts as done.
 * https://learn.microsoft.com/graph/api/group-delete-members (api-reference/v1.0/api/group-delete-members.md)
 */
export async function removeMembers(graph: Graph, groupId: string, userIds: readonly string[]): Promise<WriteResults> {
  const requests: BatchRequest[] = userIds.map((id, i) => ({ id: String(i), method: 'DELETE', url: `/groups/${groupId}/members/${id}/$ref` }));
  const responses = await graph.batch(requests);
  const results: WriteResults = new Map();
  userIds.forEach((id, i) => {
    const r = responses.get(String(i));
    const ok = r && (r.status === 204 || r.status === 200 || r.status === 404);
    results.set(id, ok ? null : failure(r?.status, r?.body));
  });
  return results;
}
