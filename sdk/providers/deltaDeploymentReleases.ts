import * as apply from "../apply";
import * as releases from "../apply/releases";
import type { Ownership } from "../apply/hostFiles";
import * as manifest from "../manifest";
import type { Transport } from "../transport";
import type { DeltaDeploymentProviderInputs as Inputs, DeltaDeploymentProviderOutputs as Outputs } from "./deltaDeploymentInputs";

/**
 * The lifecycle's side of `strategy`: which way a deployment goes, and the
 * switch between the two ways on an existing deployment.
 */

export function strategyOf(i: Pick<Inputs, "strategy"> | undefined): "inPlace" | "releases" {
    return i?.strategy === "releases" ? "releases" : "inPlace";
}

/** What the releases path needs from the lifecycle (its own helpers stay there). */
export interface ReleaseContext {
    t: Transport;
    news: Inputs;
    previous: Outputs | undefined;
    next: manifest.Manifest;
    ownership: Ownership | undefined;
    hooks: apply.Hooks;
    identity: apply.OwnerId;
    owner: { project?: string; stack?: string; resource?: string };
    log: (line: string) => void;
    /** Paths a refresh found changed in the live release (only meaningful when the previous deployment was a release too). */
    drifted?: string[];
}

/**
 * A deployment with `strategy: "releases"`. Coming from an inPlace
 * deployment, its files first come off the folder exactly as destroy would
 * take them (the originals back in place), so that the folder as it was
 * before any deployment is what the first release keeps aside.
 */
export async function deployAsRelease(c: ReleaseContext): Promise<{ result: releases.ReleaseDeployResult }> {
    const { t, news, previous } = c;
    if (previous && strategyOf(previous) === "inPlace") {
        c.log(`${news.name}: strategy changes from "inPlace" to "releases": restoring the folder as it was before the inPlace deployment, which becomes the original`);
        await apply.destroy(t, {
            destination: previous.destination,
            stateDir: previous.stateDir,
            deployed: manifest.decodeManifest(previous.deployed),
            createdDirs: manifest.decodePaths(previous.createdDirs),
            onDestroy: "restore",
            name: news.name,
            log: c.log,
            owner: c.owner,
            identity: c.identity,
        });
    }
    const result = await releases.deployRelease(t, {
        source: news.source,
        destination: news.destination,
        stateDir: news.stateDir,
        next: c.next,
        keepReleases: news.keepReleases ?? releases.DEFAULT_KEEP_RELEASES,
        hooks: c.hooks,
        ownership: c.ownership,
        identity: c.identity,
        owner: c.owner,
        name: news.name,
        log: c.log,
        progressIntervalMs: apply.progressIntervalMs(process.env),
        preserveMtimes: news.preserveMtimes ?? true,
        // What an inPlace refresh found is in the folder the inPlace destroy above puts back, not in a release.
        drifted: previous && strategyOf(previous) === "releases" ? c.drifted : undefined,
    });
    return { result };
}

/** Before an inPlace deployment that follows releases: the original goes back to destination, the releases go. */
export async function leaveReleases(c: Pick<ReleaseContext, "t" | "news" | "identity" | "owner" | "log">): Promise<void> {
    c.log(`${c.news.name}: strategy changes from "releases" to "inPlace": putting the original back at ${c.news.destination}, then deploying in place onto it`);
    await releases.removeReleases(c.t, { destination: c.news.destination, stateDir: c.news.stateDir, leaves: "original", why: "inPlace", identity: c.identity, owner: c.owner, name: c.news.name, log: c.log });
}

/** destroy of a releases deployment: "restore" and "remove" put the original back (its files were never deployed over), "retain" leaves the live release's files as a plain folder. */
export async function removeAsRelease(t: Transport, props: Outputs, hooks: apply.Hooks, identity: apply.OwnerId, owner: ReleaseContext["owner"], log: (line: string) => void): Promise<void> {
    await releases.removeReleases(t, {
        destination: props.destination,
        stateDir: props.stateDir,
        leaves: (props.onDestroy ?? "restore") === "retain" ? "release" : "original",
        why: "destroy",
        hooks,
        identity,
        owner,
        name: props.name,
        log,
    });
}
