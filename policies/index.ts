// The CrossGuard pack `pulumi preview|up --policy-pack policies` loads. Only this file constructs the
// PolicyPack (which starts a gRPC server); the rules and their tests live in guardrails.ts.
import { PolicyPack } from '@pulumi/policy';
import * as path from 'node:path';
import { campaignFileLookup, guardrailPolicies } from './guardrails';

new PolicyPack('passkey-campaigns-guardrails', {
  enforcementLevel: 'mandatory',
  // Campaign directories in the policy config are relative to the project root, like the stack's campaignsDir.
  policies: guardrailPolicies(campaignFileLookup(path.resolve(__dirname, '..'))),
});
