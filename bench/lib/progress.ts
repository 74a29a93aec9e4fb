// One progress line on stderr while a run goes on: rewritten in place on a terminal, a line every
// few seconds otherwise (CI logs), never on stdout (which carries the table).
export class ProgressLine {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastPrint = 0;
  private shown = false;

  update(text: string): void {
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${text}`);
      this.shown = true;
    } else if (Date.now() - this.lastPrint > 5000) {
      this.lastPrint = Date.now();
      process.stderr.write(`${text}\n`);
    }
  }

  clear(): void {
    if (this.tty && this.shown) process.stderr.write("\r\x1b[K");
    this.shown = false;
    this.lastPrint = 0;
  }
}
