// Every stack configuration value, read once, typed. Keys live in the project's namespace
// (passkey-campaigns:<key>) in stacks/Pulumi.<stack>.yaml.
import * as pulumi from '@pulumi/pulumi';

const config = new pulumi.Config();

/** Directory holding the campaign YAML files, relative to the project root. */
export const campaignsDir: string = config.get('campaignsDir') ?? 'campaigns';
