/** Reports a long transfer every few seconds: files and bytes done, and the rate. */
export class ProgressMeter {
    private doneFiles = 0;
    private doneBytes = 0;
    private readonly started = Date.now();
    private lastReport = Date.now();

    constructor(
        private readonly name: string,
        private readonly totalFiles: number,
        private readonly totalBytes: number,
        private readonly log?: (line: string) => void,
        private readonly everyMs = 3000,
    ) {}

    bytes(n: number): void {
        this.doneBytes += n;
        this.maybeReport();
    }

    file(): void {
        this.doneFiles++;
        this.maybeReport();
    }

    finish(): void {
        if (Date.now() - this.started >= this.everyMs) this.report();
    }

    private maybeReport(): void {
        if (!this.log || Date.now() - this.lastReport < this.everyMs) return;
        this.report();
    }

    private report(): void {
        this.lastReport = Date.now();
        const secs = (Date.now() - this.started) / 1000;
        const mb = (n: number) => (n / 1e6).toFixed(1);
        this.log?.(
            `${this.name}: ${this.doneFiles}/${this.totalFiles} files, ${mb(this.doneBytes)}/${mb(this.totalBytes)} MB sent, ${mb(this.doneBytes / Math.max(secs, 0.001))} MB/s`,
        );
    }
}
