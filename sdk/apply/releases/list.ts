import type { Transport } from "../../transport";
import { layoutFor, resolveStateRoot } from "../layout";
import { releasePath, releasesLayout } from "./layout";
import { readLink } from "./link";
import { readReleasesState } from "./state";

/** One kept release, as `pulumi-delta releases` lists it. */
export interface ReleaseListing {
    id: string;
    /** When it was built. */
    time: string;
    /** When it last went live. */
    activatedAt: string | null;
    digest: string;
    files: number;
    bytes: number;
    folder: string;
    /** True for the release `destination` points at. */
    current: boolean;
}

/** The kept releases of `destination` (oldest built first), read from the host without taking the lock. */
export async function listReleases(t: Transport, stateDir: string | undefined, destination: string): Promise<{ releases: ReleaseListing[]; link?: string; root: string }> {
    const l = releasesLayout(layoutFor(await resolveStateRoot(t, stateDir), destination), destination);
    const state = await readReleasesState(t, l);
    const link = await readLink(t, destination);
    const releases = (state?.releases ?? [])
        .map((r) => ({ id: r.id, time: r.time, activatedAt: r.activatedAt ?? null, digest: r.digest, files: r.files, bytes: r.bytes, folder: releasePath(l, r.id), current: r.id === state?.current && link === releasePath(l, r.id) }))
        .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    return { releases, link, root: l.root };
}
