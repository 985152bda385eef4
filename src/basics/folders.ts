/**
 * Folders made one level at a time, and checked before anything is made: what extract's snapshot folder and
 * report's page need.
 */
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** The errors of making a folder that its path or its permissions cause, in words. */
const FOLDER_ERRORS = new Map([
  ['EACCES', 'permission denied'],
  ['EPERM', 'not permitted'],
  ['EROFS', 'a read-only file system'],
  ['ENOTDIR', 'a part of the path is a file'],
  ['ENOENT', 'this file system makes no folders there'],
  ['EEXIST', 'a file of that name exists'],
]);

/**
 * `mkdir -p`, one level at a time from the nearest folder that exists. Node's recursive mkdir never returns where
 * mkdir fails with ENOENT under an existing folder (under /proc it spun for minutes, deaf to SIGTERM).
 */
export async function makeFolders(dir: string, mode = 0o750): Promise<void> {
  for (const folder of (await nearestExisting(dir)).missing) {
    try {
      await mkdir(folder, { mode });
    } catch (err) {
      // Made meanwhile by another run: fine, if it is a folder.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(folder)).isDirectory()) throw err;
    }
  }
  if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error(`${dir} is a file`), { code: 'EEXIST' });
}

/**
 * Checks, making nothing, that {@link makeFolders} could make `dir` and write in it: the nearest folder of its path
 * that exists must be a folder the process may write (`dir` itself a folder when it exists). Throws the errno error
 * mkdir would (EACCES, EROFS, ENOTDIR, EEXIST).
 */
export async function checkFolders(dir: string): Promise<void> {
  const { at } = await nearestExisting(dir);
  if (!(await stat(at)).isDirectory())
    throw Object.assign(new Error(`${at} is a file`), { code: at === dir ? 'EEXIST' : 'ENOTDIR' });
  await access(at, fsConstants.W_OK | fsConstants.X_OK);
}

/** The nearest path of `dir`'s that exists (itself, or a parent), and the missing ones below it, outermost first. */
async function nearestExisting(dir: string): Promise<{ at: string; missing: string[] }> {
  const missing: string[] = [];
  let at = dir;
  while (!(await exists(at)) && path.dirname(at) !== at) {
    missing.unshift(at);
    at = path.dirname(at);
  }
  return { at, missing };
}

/** Whether `p` exists; false too when a part of its path is a file (ENOTDIR). */
export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}

/**
 * A failure of {@link makeFolders} or {@link checkFolders} that the path or its permissions cause, in words
 * (`EACCES: permission denied`); undefined for any other.
 */
export function folderErrorWords(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  return code && FOLDER_ERRORS.has(code) ? `${code}: ${FOLDER_ERRORS.get(code)}` : undefined;
}

/**
 * Why {@link makeFolders} could not make `dir` and write in it, in words (`EACCES: permission denied`), or
 * undefined when it could. Makes nothing.
 */
export async function folderProblem(dir: string): Promise<string | undefined> {
  try {
    await checkFolders(dir);
    return undefined;
  } catch (err) {
    const words = folderErrorWords(err);
    if (!words) throw err;
    return words;
  }
}
