/**
 * The errors ganfit reports to its user, each carrying the CLI exit code it maps to.
 *
 * Exit-code contract of the `ganfit` CLI:
 *   0 ok · 1 any other failure · 2 usage error · 3 no face found · 4 unreadable or unsupported image.
 *
 * A GanfitError's message is one line that names the file (when there is one) and what is wrong; the CLI prints
 * the message only, never the stack.
 */

export const ExitCode = {
  Ok: 0,
  Other: 1,
  Usage: 2,
  NoFace: 3,
  Image: 4,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class GanfitError extends Error {
  readonly code: ExitCode;

  constructor(code: ExitCode, message: string, options?: { cause?: unknown }) {
    // One line: collapse any newline a wrapped library message may carry.
    super(message.replace(/\s*\n\s*/g, ' ').trim(), options);
    this.name = 'GanfitError';
    this.code = code;
  }
}

/** Bad command line: unknown flag, missing argument, `--face N` out of range (exit 2). */
export function usageError(message: string): GanfitError {
  return new GanfitError(ExitCode.Usage, message);
}

/** The detector found no face in the image (exit 3). */
export function noFaceError(message: string): GanfitError {
  return new GanfitError(ExitCode.NoFace, message);
}

/** The image cannot be read: missing, not a file, empty, truncated, not an image, too large (exit 4). */
export function imageError(message: string, cause?: unknown): GanfitError {
  return new GanfitError(ExitCode.Image, message, cause === undefined ? undefined : { cause });
}

/** The exit code for any thrown value: a GanfitError's own code, 1 for anything else. */
export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof GanfitError ? error.code : ExitCode.Other;
}
