/** A one-line progress bar on stderr, drawn only when stderr is a terminal (CI logs stay clean). */
export class ProgressBar {
  private readonly tty = process.stderr.isTTY === true;
  private lastDrawn = -1;

  constructor(private readonly width = 30) {}

  update(label: string, fraction: number): void {
    if (!this.tty) return;
    const clamped = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(clamped * this.width);
    if (filled === this.lastDrawn) return;
    this.lastDrawn = filled;
    const bar = '█'.repeat(filled) + '░'.repeat(this.width - filled);
    process.stderr.write(`\r${bar} ${(clamped * 100).toFixed(0).padStart(3)}% ${label.padEnd(36).slice(0, 36)}`);
  }

  done(): void {
    if (!this.tty) return;
    process.stderr.write('\r' + ' '.repeat(this.width + 42) + '\r');
    this.lastDrawn = -1;
  }
}
