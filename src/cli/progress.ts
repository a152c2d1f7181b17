/** Progress on stderr: a redrawn bar on a terminal, plain lines elsewhere (logs, CI), nothing when quiet. */
export interface Progress {
  /** Set the current step `done` of `total` with a label. */
  update(done: number, total: number, label: string): void;
  /** A line that stays (a note or a per-item result). */
  note(message: string): void;
  done(): void;
}

export function createProgress(options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = !!stream.isTTY;
  const start = Date.now();
  let drawn = false;
  const clear = () => {
    if (drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    update(done, total, label) {
      if (options.quiet || !tty) return;
      const width = 24;
      const filled = total > 0 ? Math.round((width * done) / total) : 0;
      const elapsed = (Date.now() - start) / 1000;
      const eta = done > 0 && total > done ? ` eta ${Math.round((elapsed / done) * (total - done))}s` : '';
      clear();
      stream.write(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label} ${elapsed.toFixed(1)}s${eta}`);
      drawn = true;
    },
    note(message) {
      if (options.quiet) return;
      clear();
      stream.write(message + '\n');
    },
    done() {
      clear();
    },
  };
}
