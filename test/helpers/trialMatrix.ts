/**
 * What the kill trials and the network-fault trials share: a seeded draw
 * (so a matrix can be run again), assertions turned into problem lines
 * (one trial's failures do not stop its other checks), and the printed
 * fixed-width matrix.
 */

/** A small seeded generator (mulberry32). */
export function seeded(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** The assertion's message when `fn` throws, else undefined. */
export function check(fn: () => void): string | undefined {
    try {
        fn();
        return undefined;
    } catch (err) {
        return (err as Error).message;
    }
}

/** Columns padded to their widest cell, a rule under the header, then the footer lines. */
export function formatTable(columns: string[], rows: string[][], footer: string[]): string {
    const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [line(columns), line(widths.map((n) => "-".repeat(n))), ...rows.map(line), "", ...footer].join("\n");
}

/** "yes" / "NO" for a check that passed or failed, so a failed one stands out in the matrix. */
export const yesNo = (ok: boolean): string => (ok ? "yes" : "NO");
