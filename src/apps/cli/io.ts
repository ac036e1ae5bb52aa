// Where a command writes; tests pass their own streams.
export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}

export function println(stream: NodeJS.WritableStream, line = ''): void {
  stream.write(line + '\n');
}
