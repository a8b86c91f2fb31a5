/**
 * The provider process outlives a killed engine unless it notices: it then
 * held the host's lock, and once spun writing progress to the closed pipe.
 * It notices two ways: its parent (the engine that started it) is gone, or a
 * write to stdout/stderr fails. Either ends the process at once; the next
 * run's recovery finishes or undoes what it was doing on the host.
 */
let watching = false;

export function watchEngine(): void {
    if (watching) return;
    watching = true;
    const engine = process.ppid;
    const timer = setInterval(() => {
        if (process.ppid !== engine) process.exit(1);
    }, 500);
    timer.unref();
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => process.exit(1));
}
