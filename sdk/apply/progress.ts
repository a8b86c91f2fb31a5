/** How often a long transfer reports, unless {@link PROGRESS_INTERVAL_ENV} says otherwise. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 3000;

/** Environment variable: milliseconds between progress lines during `pulumi up` (a positive integer). */
export const PROGRESS_INTERVAL_ENV = "PULUMI_DELTA_PROGRESS_INTERVAL_MS";

/**
 * The progress interval `env` asks for, else the default. A value that is
 * not a positive integer is ignored: a reporting knob must never fail a
 * deployment.
 */
export function progressIntervalMs(env: Readonly<Record<string, string | undefined>> = process.env): number {
    const raw = env[PROGRESS_INTERVAL_ENV]?.trim();
    const n = raw && /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
    return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_PROGRESS_INTERVAL_MS;
}

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
        private readonly everyMs = DEFAULT_PROGRESS_INTERVAL_MS,
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
