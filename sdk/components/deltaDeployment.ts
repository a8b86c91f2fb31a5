import * as pulumi from "@pulumi/pulumi";
import type { DeltaRecord, DeltaRecordSummary, OnDestroy } from "../apply";
import type { ConnectionArgs } from "../connection";
import type { LastDelta, Strategy } from "../providers/deltaDeploymentInputs";
import { withVersion } from "./package";

export type { LastDelta, Strategy } from "../providers/deltaDeploymentInputs";
export type { OnDestroy, DeltaRecord, DeltaRecordSummary, RecordChange, RecordRollback } from "../apply";

export interface DeltaDeploymentArgs {
    /**
     * Local directory (or single file) to deploy, relative to the Pulumi
     * program or absolute. Required. Its files are hashed during preview.
     * Symlinks (see `symlinks`), empty folders and folder modes are deployed
     * as they are, as `rsync -a` would; hard links become separate files.
     */
    source: pulumi.Input<string>;
    /**
     * Absolute path on the host. For a directory source, the directory the
     * tree lands in; for a single-file source, the file's exact path (e.g.
     * `/etc/nginx/conf.d/app.conf`). Required. Changing it replaces the
     * deployment (the old destination is restored first).
     */
    destination: pulumi.Input<string>;
    /**
     * The host to deploy to over SSH, with @pulumi/command's field names.
     * Default: none, meaning the machine that runs Pulumi (local files).
     */
    connection?: pulumi.Input<ConnectionArgs>;
    /**
     * Patterns relative to `source` whose files are not deployed, with
     * `.gitignore` rules, e.g. `["*.tmp", ".git/", "/build", "!keep.tmp"]`:
     * the last match wins, `!` re-includes, `dir/` matches folders only, a
     * leading or middle `/` anchors at `source`, no slash matches at any
     * depth. A matching folder is skipped whole. Default: [].
     */
    exclude?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * What `pulumi destroy` does to the host: "restore" removes the files the
     * deployment created and puts back every file it overwrote; "remove"
     * removes every deployed file; "retain" leaves them. Default: "restore".
     */
    onDestroy?: pulumi.Input<OnDestroy>;
    /**
     * Host folder for originals, backups, staging and records, kept apart from
     * the destination. Default: "/var/lib/pulumi-delta" when connecting as
     * root, else "~/.local/state/pulumi-delta". Created with mode 0700.
     */
    stateDir?: pulumi.Input<string>;
    /**
     * A command run on the host (in its shell, over the same connection; or
     * locally without one) before a deployment is recorded, e.g.
     * `nginx -t`. If it contains `{staged}` (single-file source only), that
     * is replaced by the shell-quoted path of the staged new file and the
     * command runs before anything moves into place, e.g.
     * `visudo -cf {staged}`; otherwise it runs with the new files in place.
     * A non-zero exit (or running past `hookTimeout`) puts the previous files
     * back and fails with the command, its exit code and its output. Also
     * runs when `pulumi destroy` restores or removes files. Nothing else is
     * interpolated. Default: none.
     */
    validate?: pulumi.Input<string>;
    /**
     * A command run on the host after a deployment that changed at least one
     * file, e.g. `systemctl reload nginx`. A non-zero exit (or a timeout)
     * puts the previous files back, runs `onChange` again so the service
     * returns to them, and fails showing both runs' output. Also runs when
     * `pulumi destroy` restores or removes files. Default: none.
     */
    onChange?: pulumi.Input<string>;
    /** Seconds `validate` and `onChange` may each run before they are killed and count as failed. Default: 60. */
    hookTimeout?: pulumi.Input<number>;
    /**
     * Up to this many files, the per-file manifest is a resource input, so
     * `pulumi preview --diff` marks each file. Above it, the input is only the
     * manifest's digest and counts (each map entry costs the engine ≈ 0.35 ms
     * on every preview), and the per-file delta is listed under Diagnostics.
     * A stack moves between the two without a replace or a resend. Default: 1000.
     */
    diffFileLimit?: number;
    /**
     * The most files one update may remove from the deployment: a whole
     * number of files (`50`), or a percentage of the deployed files
     * (`"10%"`, rounded down). A larger removal is refused by the preview,
     * naming `source`, before `pulumi up` touches the host; raise or remove
     * it for an update meant to remove more. Counted by path against the
     * deployed manifest in state. Changing it alone is not an update.
     * Default: no limit (an update that removes every file is still
     * refused; see `allowEmptySource`).
     */
    maxDelete?: pulumi.Input<number | string>;
    /**
     * Lets an update remove every deployed file while adding none. Without
     * it such an update (an empty or mistyped `source`, a build that produced
     * nothing, an `exclude` that excludes everything) is refused by the
     * preview, naming `source`. Lifts only that rule: `maxDelete` still
     * applies. Changing it alone is not an update. Default: false.
     */
    allowEmptySource?: pulumi.Input<boolean>;
    /**
     * "sudo": the login user (`connection.user`) is not root, and acts as
     * root through `sudo -n`, which must not ask for a password (a NOPASSWD
     * sudoers entry). File contents are uploaded over SFTP as the login user
     * into an upload folder it owns (`/var/tmp/pulumi-delta-upload.*`,
     * removed when the deployment ends); moving them into staging and into
     * place, backups, ownership, records and the `validate` / `onChange`
     * hooks all run as root. Deployed files are owned by root unless
     * `owner` / `group` say otherwise. `stateDir` then defaults to
     * "/var/lib/pulumi-delta", created by sudo with mode 0700. When the
     * upload folder and staging are on different filesystems, moving an
     * upload into staging copies it; the final move into place is still a
     * rename. Large files are sent whole (no server-side range copies).
     * Ignored when the login user is root. Default: none (act as the login user).
     */
    become?: pulumi.Input<"sudo">;
    /**
     * User (name or numeric uid, resolved on the host) that owns the
     * deployed files, e.g. "root" or "www-data". Set on each staged file
     * before it is renamed into place, so a file never appears with another
     * owner. Changing it re-owns every deployed file. Needs root (connect as
     * root or use `become`). Also set on the folders the deployment creates
     * (and on folder entries); folders already there keep their owner. Default: the user that writes the files (root with `become`).
     */
    owner?: pulumi.Input<string>;
    /** Group (name or numeric gid, resolved on the host) of the deployed files, set like `owner`. Default: that user's primary group. */
    group?: pulumi.Input<string>;
    /**
     * Stacks whose deployed paths on the host this deployment may take over,
     * as "project/stack" or "org/project/stack" (e.g. `["site/old-prod"]`).
     * Every host keeps a ledger of who owns each deployed path; a path owned
     * by another stack is otherwise refused before anything moves. Taking
     * over makes this deployment the path's owner: the other stack's destroy
     * then leaves it alone, and this one's restores its original. Use it to
     * move a destination between stacks, or after `pulumi state delete` of a
     * deployment whose stack is gone. Paths of this stack's own resources
     * (a replace, a rename) are taken over without it. Default: none.
     */
    takeOverFrom?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * How the new tree goes in place. "inPlace": each changed file is staged
     * and renamed into the destination folder (atomic per file; a reader can
     * see old and new files side by side while a deployment commits).
     * "releases" (directory source only): each deployment builds a complete
     * release folder in `.<name>.releases/<id>/` beside `destination` (same
     * filesystem, mode 0755, readable by whoever reads `destination`),
     * hard-linking every unchanged file from the live release on the host (no
     * bytes sent; a file whose mode or owner changes is copied on the host)
     * and sending only the delta; then `destination`, a symlink, is pointed
     * at it by renaming a new symlink over it, the one atomic step. A
     * manifest whose release is still kept (a rollback) sends no file bytes
     * and only flips the link. `validate` runs against the new release
     * before the flip, with `{release}` replaced by the shell-quoted path of
     * its folder; `onChange` runs after the flip; a failure of either leaves
     * or puts the previous release live. On the first release, the folder at
     * `destination` is kept aside as `.<name>.releases/original` (refused if
     * another deployment's files are in it) and `destroy` puts it back byte
     * for byte ("retain" leaves the live release's files as a plain folder).
     * The first release and the return to a folder leave `destination`
     * absent for one rename (the log says so). Changing `strategy` is an
     * update, both ways, without losing a file. Default: "inPlace".
     */
    strategy?: pulumi.Input<Strategy>;
    /**
     * With `strategy: "releases"`: how many releases stay on the host, the
     * live one included. A release that failed or never went live never
     * counts and is removed. Default: 3.
     */
    keepReleases?: pulumi.Input<number>;
    /**
     * What a symlink under `source` becomes. "preserve": a symlink with the
     * same target text (as `rsync -a`); a retargeted link is a change the
     * preview shows. "follow": what it points at, a file or a folder (as
     * `rsync -L`); a dangling link or a loop is refused. "refuse": the
     * preview fails listing every symlink. Writing on the host never follows
     * a symlink. Default: "preserve".
     */
    symlinks?: pulumi.Input<"preserve" | "follow" | "refuse">;
    /**
     * Keep files', symlinks' and folders' mtimes as in the source (whole
     * seconds), so the host's tree compares equal under `rsync -a`. An mtime
     * alone is never a change. false: files get the time they were written.
     * Default: true.
     */
    preserveMtimes?: pulumi.Input<boolean>;
}

/** Default for {@link DeltaDeploymentArgs.diffFileLimit}. */
export const DEFAULT_DIFF_FILE_LIMIT = 1000;

/** The type token every language's SDK uses; the plugin `pulumi-resource-delta` serves it. */
export const DELTA_DEPLOYMENT_TYPE = "delta:index:DeltaDeployment";

const OUTPUTS = ["manifestDigest", "fileCount", "totalBytes", "lastDelta", "lastRecord", "instanceId"] as const;

/**
 * Deploys a local tree (or one file) to a host over SSH, sending only the
 * files that changed since the last deployment, and puts the host back as
 * it was on `pulumi destroy`. The plugin hashes `source` during the preview
 * and names each added, changed and removed file.
 */
export class DeltaDeployment extends pulumi.CustomResource {
    /** sha256 over the whole manifest (`sha256:<hex>`). */
    declare readonly manifestDigest: pulumi.Output<string>;
    /** Number of files deployed. */
    declare readonly fileCount: pulumi.Output<number>;
    /** Sum of the deployed files' sizes in bytes. */
    declare readonly totalBytes: pulumi.Output<number>;
    /** What the last `pulumi up` changed on the host, and the bytes it sent. */
    declare readonly lastDelta: pulumi.Output<LastDelta>;
    /**
     * The record the last deployment that changed files wrote on the host
     * (under `<stateDir>/<destination key>/records/`): project, stack,
     * resource, time, `changes` and `rollback`. When it lists more than
     * 1,000 files, only its counts and its path on the host. Null until a
     * deployment changes something.
     */
    declare readonly lastRecord: pulumi.Output<DeltaRecord | DeltaRecordSummary | null>;
    /**
     * This resource's identity in the ownership ledger on the host, minted
     * when it is created; a replacement gets a new one (its URN stays), so
     * the replaced resource's destroy touches nothing the new one owns.
     */
    declare readonly instanceId: pulumi.Output<string>;

    constructor(name: string, args: DeltaDeploymentArgs, opts?: pulumi.CustomResourceOptions) {
        const inputs: pulumi.Inputs = { ...args };
        for (const k of OUTPUTS) inputs[k] = undefined;
        super(DELTA_DEPLOYMENT_TYPE, name, inputs, withVersion(opts));
    }
}
