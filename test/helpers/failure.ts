/** What an operation that must fail (`pulumi up`, a dial) rejected with, as one string; throws if it succeeded. */
export async function failure(p: Promise<unknown>): Promise<string> {
    try {
        await p;
    } catch (err) {
        return (err as Error).message;
    }
    throw new Error("expected the operation to fail");
}
