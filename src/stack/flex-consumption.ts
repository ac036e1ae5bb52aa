// What a Flex Consumption (FC1) function app must not be sent. Source: "Flex Consumption plan deprecations" in
// https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
// (linked from https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#deprecated-properties-and-settings).
// ARM answers 51021 for the site config ones: pulumi/pulumi-azure-native#4168 (netFrameworkVersion), Azure/azure-cli#31414
// (ftpsState, use32BitWorkerProcess, preWarmedInstanceCount, netFrameworkVersion, functionsRuntimeScaleMonitoringEnabled),
// Azure/azure-functions-host#10643 (functionAppScaleLimit), Azure/terraform-azurerm-avm-res-web-site#283 (linuxFxVersion).

/** Site configuration properties FC1 rejects; runtime and scale live in `functionAppConfig` instead. */
export const FLEX_FORBIDDEN_SITE_CONFIG = [
  'alwaysOn', // not valid
  'ftpsState', // FTPS not supported
  'functionAppScaleLimit', // → functionAppConfig.scaleAndConcurrency.maximumInstanceCount
  'functionsRuntimeScaleMonitoringEnabled', // not in the docs' table; named in the 51021 of azure-cli#31414
  'isReserved', // not valid
  'isXenon', // not valid
  'javaVersion', // → functionAppConfig.runtime.version
  'linuxFxVersion', // → functionAppConfig.runtime
  'netFrameworkVersion', // → functionAppConfig.runtime.version; @pulumi/azure-native defaults it to "v4.6" in any siteConfig
  'powerShellVersion', // → functionAppConfig.runtime.version
  'preWarmedInstanceCount', // → functionAppConfig.scaleAndConcurrency.alwaysReady
  'use32BitWorkerProcess', // 32-bit not supported
  'windowsFxVersion', // not valid
] as const;

/** Site properties FC1 rejects (on the site, not in siteConfig). */
export const FLEX_FORBIDDEN_SITE_PROPERTIES = ['containerSize', 'vnetBackupRestoreEnabled', 'vnetContentShareEnabled', 'vnetImagePullEnabled'] as const;

/** App settings FC1 deprecates: the platform sets them, or functionAppConfig / the deployment replaces them. */
export const FLEX_FORBIDDEN_APP_SETTINGS = [
  'ENABLE_ORYX_BUILD',
  'FUNCTIONS_EXTENSION_VERSION',
  'FUNCTIONS_MAX_HTTP_CONCURRENCY',
  'FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED',
  'FUNCTIONS_WORKER_PROCESS_COUNT',
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_WORKER_RUNTIME_VERSION',
  'SCM_DO_BUILD_DURING_DEPLOYMENT',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_CONTENTOVERVNET',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_DNS_SERVER',
  'WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_SKIP_CONTENTSHARE_VALIDATION',
  'WEBSITE_VNET_ROUTE_ALL',
] as const;

/**
 * The one place the Functions app's Node.js major is set, relative to the project root: the program puts it in
 * functionAppConfig.runtime, the deploy workflow's setup-node reads it (node-version-file), build.sh checks the
 * package's `engines` against it, and test/stack/node-version.test.ts fails if any of them drifts.
 */
export const FUNCTIONS_NODE_VERSION_FILE = 'deploy/functions/.node-version';

/**
 * Node.js majors Flex Consumption runs that are still supported. Flex runs Node.js 20 and 22
 * (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#supported-language-stack-versions);
 * Functions' support for Node.js 20 ended on 30 April 2026 with Node's own, 22 is supported until 30 April 2027
 * (https://learn.microsoft.com/azure/azure-functions/supported-languages?pivots=programming-language-javascript).
 */
export const FLEX_NODE_VERSIONS: readonly string[] = ['22'];

/** The Node.js major in FUNCTIONS_NODE_VERSION_FILE's text; names the file and the supported majors otherwise. */
export function parseFunctionsNodeVersion(text: string): string {
  const version = text.trim();
  if (!FLEX_NODE_VERSIONS.includes(version)) {
    throw new Error(`${FUNCTIONS_NODE_VERSION_FILE}: "${version}" is not a Node.js major the Functions app can run on Flex Consumption; use one of ${FLEX_NODE_VERSIONS.join(', ')}.`);
  }
  return version;
}
