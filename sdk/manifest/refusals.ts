/** A path under a source that the walk cannot deploy, and why. */
export interface Refusal {
    /** The relative path as this process reads it (U+FFFD for bytes that are not UTF-8): the order of the list. */
    path: string;
    /** The path as the message shows it. */
    shown: string;
    /** What it is and the fix beyond excluding it. */
    why: string;
}

/** How many refused paths one message lists; the rest are counted. */
export const REFUSALS_SHOWN = 20;

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The length of the UTF-8 sequence a lead byte starts, 0 for a byte that cannot start one. */
function sequenceLength(lead: number): number {
    if (lead < 0x80) return 1;
    if (lead >= 0xc2 && lead <= 0xdf) return 2;
    if (lead >= 0xe0 && lead <= 0xef) return 3;
    if (lead >= 0xf0 && lead <= 0xf4) return 4;
    return 0;
}

/** A quoted name for messages: valid UTF-8 as text (JSON escapes), every other byte as `\xNN`. */
export function quoteBytes(raw: Buffer): string {
    let out = "";
    for (let i = 0; i < raw.length; ) {
        const n = sequenceLength(raw[i]);
        let text: string | undefined;
        if (n > 0 && i + n <= raw.length) {
            try {
                text = fatalUtf8.decode(raw.subarray(i, i + n));
            } catch {
                text = undefined;
            }
        }
        if (text === undefined) {
            out += `\\x${raw[i].toString(16).padStart(2, "0")}`;
            i++;
        } else {
            out += JSON.stringify(text).slice(1, -1);
            i += n;
        }
    }
    return `"${out}"`;
}

/**
 * The exclude pattern that matches exactly `rel` (as read here), quoted as a
 * string literal: glob characters escaped, U+FFFD written `\uFFFD` so that
 * it can be pasted into a program.
 */
export function literalPattern(rel: string): string {
    const escaped = rel.replace(/[\\*?[\]]/g, "\\$&").replace(/^[!#]/, "\\$&");
    // A slash inside anchors the pattern at the source; a bare name needs a leading one.
    const anchored = escaped.includes("/") ? escaped : `/${escaped}`;
    return JSON.stringify(anchored).replace(/\uFFFD/g, "\\uFFFD");
}

/** One error for every refused path: the first {@link REFUSALS_SHOWN} listed in path order, the rest counted. */
export function refusalMessage(source: string, refusals: readonly Refusal[]): string {
    // Code-unit order, as manifests use, so the list is the same on every run.
    const sorted = [...refusals].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const n = sorted.length;
    const lines = sorted.slice(0, REFUSALS_SHOWN).map((r) => `  ${r.shown}: ${r.why}`);
    if (n > REFUSALS_SHOWN) lines.push(`  … and ${n - REFUSALS_SHOWN} more`);
    const head = `source ${JSON.stringify(source)} holds ${n === 1 ? "1 path that cannot be deployed" : `${n} paths that cannot be deployed`}; add ${n === 1 ? "it" : "them"} to exclude or fix each as noted:`;
    return [head, ...lines].join("\n");
}
