import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SETUP = fileURLToPath(new URL('../../scripts/pyfixtures.sh', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** A cold start installs pyarrow and fastavro from PyPI first. */
const SETUP_TIMEOUT_MS = 280_000;

let python: Promise<string> | undefined;

/** The venv Python with the pinned pyarrow and fastavro (scripts/pyfixtures.sh), set up once per worker. */
function pythonWithFixtures(): Promise<string> {
  python ??= run('bash', [SETUP], { timeout: SETUP_TIMEOUT_MS }).then(
    ({ stdout }) => stdout.trim(),
    (error: { stderr?: string }) => {
      throw new Error(`scripts/pyfixtures.sh failed:\n${error.stderr ?? String(error)}`, { cause: error });
    },
  );
  return python;
}

/**
 * Runs `test/fixtures/<script>` with the fixtures Python, so the files a test diffs are the ones
 * the real libraries (pyarrow, fastavro, Python's json) write. The script writes into `dir`.
 */
export async function writePythonFixtures(script: string, dir: string, ...args: string[]): Promise<void> {
  const interpreter = await pythonWithFixtures();
  try {
    await run(interpreter, [`${FIXTURES}${script}`, dir, ...args], { timeout: 120_000 });
  } catch (error) {
    throw new Error(`test/fixtures/${script} failed:\n${(error as { stderr?: string }).stderr ?? String(error)}`, {
      cause: error,
    });
  }
}
