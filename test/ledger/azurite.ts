// Starts Azurite's blob service as a child process on 127.0.0.1 (ephemeral port, in memory) for the Blob
// store tests, and stops it again. Telemetry is off: nothing leaves the loopback interface.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MAIN = path.resolve(__dirname, '../../node_modules/azurite/dist/src/blob/main.js');
const LISTENING = /successfully listens on (http:\/\/127\.0\.0\.1:(\d+))/;

// Preloaded into Azurite: exits once the test process is gone, so a killed test run leaves no server behind.
const WATCHDOG = `const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 500).unref();
`;

/** Azurite's fixed development account (documented, not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  /** e.g. http://127.0.0.1:41234/devstoreaccount1 */
  blobEndpoint: string;
  port: number;
  connectionString: string;
  /** Everything Azurite printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartAzuriteOptions {
  /** How long to wait for Azurite to listen; default 20 s. */
  startTimeoutMs?: number;
}

/** Starts Azurite's blob service and resolves once it listens. */
export async function startAzurite(opts: StartAzuriteOptions = {}): Promise<Azurite> {
  if (!fs.existsSync(MAIN)) throw new Error(`Azurite is not installed (${MAIN} is missing): run npm ci`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'azurite-'));
  const watchdog = path.join(workDir, 'watchdog.cjs');
  fs.writeFileSync(watchdog, WATCHDOG);
  const args = [
    '--require', watchdog,
    MAIN,
    '--blobHost', '127.0.0.1',
    '--blobPort', '0',
    // In memory (Azurite refuses --location with it); the temp dir is only its working directory.
    '--inMemoryPersistence',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--silent',
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: workDir });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Azurite did not listen within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
      const check = (): void => {
        const m = LISTENING.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[2]));
        }
      };
      proc.stdout?.on('data', check);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`Azurite exited with ${code} before listening; output:\n${out}`));
      });
    });
  } catch (err) {
    await stopProcess(proc, exited);
    fs.rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  let stopped: Promise<void> | undefined;
  return {
    blobEndpoint,
    port,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    output: () => out,
    stop: () => {
      stopped ??= stopProcess(proc, exited).finally(() => fs.rmSync(workDir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/**
 * SIGKILL: the data is in memory and thrown away anyway, and Azurite's SIGTERM handler waits for idle keep-alive
 * connections of the clients, which can take seconds.
 */
async function stopProcess(proc: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGKILL');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
}
