import * as crypto from "crypto";

/**
 * The canonical text of a delta part: LF line endings, trailing whitespace
 * stripped from every line, leading and trailing blank lines dropped,
 * comments kept. Editors and git settings (CRLF, trailing spaces) then
 * never change a checksum, while any change a database could see does —
 * except trailing spaces inside a multi-line string literal, which are
 * stripped too, because the normalized text is what runs.
 */
export function normalizeSql(text: string): string {
    const lines = text.replace(/\r\n?/g, "\n").split("\n").map((l) => l.replace(/\s+$/, ""));
    let start = 0;
    let end = lines.length;
    while (start < end && lines[start] === "") start++;
    while (end > start && lines[end - 1] === "") end--;
    return lines.slice(start, end).join("\n");
}

/** `sha256:<hex>` of the normalized text. */
export function checksumOf(normalized: string): string {
    return "sha256:" + crypto.createHash("sha256").update(normalized, "utf8").digest("hex");
}
