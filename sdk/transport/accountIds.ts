import { accountIdsScript, chownFailure, parseAccountIds } from "./shell";
import type { ExecResult } from "./types";

/** Numeric ids of an owner and a group; a part not asked for is left out. */
export interface AccountIds {
    uid?: number;
    gid?: number;
}

/**
 * Owner and group names resolved on the host once per transport (one shell,
 * so names resolve through the host's own NSS), after which every file is
 * chowned by number in one cheap request: a shell per file would cost its
 * start-up each time and run into the server's limit on sessions.
 */
export class AccountIdCache {
    private readonly known = new Map<string, Promise<AccountIds>>();

    constructor(private readonly exec: (command: string) => Promise<ExecResult>) {}

    /** Rejects with the reason as chownFailure words it (no such user, no such group). */
    resolve(owner: string | undefined, group: string | undefined): Promise<AccountIds> {
        const key = JSON.stringify([owner ?? null, group ?? null]);
        let ids = this.known.get(key);
        if (!ids) {
            ids = this.exec(accountIdsScript(owner, group)).then((r) => {
                const parsed = r.code === 0 ? parseAccountIds(r.stdout) : undefined;
                if (!parsed) throw new Error(chownFailure(r.code, r.stderr || r.stdout, owner, group));
                return parsed;
            });
            this.known.set(key, ids);
        }
        return ids;
    }
}
