/**
 * Runs `fn` over `items` with at most `limit` at once, in order of start.
 * Stops starting new work after the first failure and rethrows it once the
 * work under way has settled, so no upload is left running behind an error.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
    let next = 0;
    let failure: { err: unknown } | undefined;
    const worker = async () => {
        while (!failure && next < items.length) {
            const i = next++;
            try {
                await fn(items[i], i);
            } catch (err) {
                failure ??= { err };
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    if (failure) throw failure.err;
}
