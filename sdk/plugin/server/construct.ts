import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type * as rpc from "@pulumi/pulumi/proto/provider_pb";
import type { ComponentConstructor } from "../resources/types";

/**
 * Construct runs a component's constructor as a small Pulumi program inside
 * this process: its children register with the engine's monitor like any
 * program's. The Pulumi SDK's runtime does the registering; these are the
 * same calls its own provider server makes (pinned by the lockfile, tested
 * by every component test). Loaded only when a component is constructed.
 */

/** The SDK runtime calls used here; several are internal to the SDK (absent from its typings). */
interface Settings {
    resetOptions(project: string, stack: string, parallel: number, engineAddr: string, monitorAddr: string, preview: boolean, organization: string): void;
    awaitFeatureSupport(): Promise<void>;
    waitForRPCs(): Promise<void>;
}
interface Config {
    setAllConfig(c: Record<string, string>, secretKeys?: string[]): void;
}
interface State {
    withLocalStorage<T>(fn: () => Promise<T>): Promise<T>;
}
interface Urned {
    urn: { promise(): Promise<string> };
}
interface Rpc {
    serializeResourceProperties(label: string, props: Record<string, unknown>): Promise<[Record<string, unknown>, Map<string, Set<Urned>>]>;
}
interface Resource {
    DependencyResource: new (urn: string) => unknown;
    rootStackResource: unknown;
}
interface Output {
    output(v: unknown): { promise(): Promise<unknown> };
}
interface ServerModule {
    deserializeInputs(s: Struct | undefined, deps: unknown): Promise<Record<string, unknown>>;
}

export async function construct(req: rpc.ConstructRequest, engineAddress: string, component: ComponentConstructor): Promise<rpc.ConstructResponse> {
    const state = require("@pulumi/pulumi/runtime/state") as State;
    return state.withLocalStorage(async () => {
        const settings = require("@pulumi/pulumi/runtime/settings") as Settings;
        const config = require("@pulumi/pulumi/runtime/config") as Config;
        const rpcRuntime = require("@pulumi/pulumi/runtime/rpc") as Rpc;
        const resource = require("@pulumi/pulumi/resource") as Resource;
        const output = require("@pulumi/pulumi/output") as Output;
        const server = require("@pulumi/pulumi/provider/server") as ServerModule;
        const proto = require("@pulumi/pulumi/proto/provider_pb") as typeof rpc;

        settings.resetOptions(req.getProject(), req.getStack(), req.getParallel(), engineAddress, req.getMonitorendpoint(), req.getDryrun(), req.getOrganization());
        await settings.awaitFeatureSupport();
        const cfg: Record<string, string> = {};
        for (const [k, v] of req.getConfigMap().entries()) cfg[k] = v;
        config.setAllConfig(cfg, req.getConfigsecretkeysList());

        const inputs = await server.deserializeInputs(req.getInputs(), req.getInputdependenciesMap());
        const aliases: unknown[] = [];
        for (const a of req.getAliasesList()) {
            if (a.hasUrn()) aliases.push(a.getUrn());
            else if (a.hasSpec()) {
                const s = a.getSpec()!;
                aliases.push({
                    ...(s.getName() ? { name: s.getName() } : {}),
                    ...(s.getProject() ? { project: s.getProject() } : {}),
                    ...(s.getStack() ? { stack: s.getStack() } : {}),
                    ...(s.hasParenturn() ? { parent: s.getParenturn() } : s.getNoparent() ? { parent: resource.rootStackResource } : {}),
                });
            }
        }
        const options: Record<string, unknown> = {
            aliases,
            dependsOn: req.getDependenciesList().map((urn) => new resource.DependencyResource(urn)),
            protect: req.getProtect(),
            parent: req.getParent() ? new resource.DependencyResource(req.getParent()) : undefined,
            ignoreChanges: req.getIgnorechangesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            retainOnDelete: req.getRetainondelete(),
        };
        const made = await component.construct(req.getName(), inputs, options);
        const res = new proto.ConstructResponse();
        res.setUrn(String(await output.output(made.urn).promise()));
        const [serialized, deps] = await rpcRuntime.serializeResourceProperties(`construct(${req.getType()}, ${req.getName()})`, made.state);
        const depsMap = res.getStatedependenciesMap();
        for (const [key, resources] of deps) {
            const d = new proto.ConstructResponse.PropertyDependencies();
            d.setUrnsList(await Promise.all([...resources].map((r) => r.urn.promise())));
            depsMap.set(key, d);
        }
        res.setState(Struct.fromJavaScript(serialized as Record<string, never>));
        await settings.waitForRPCs();
        return res;
    });
}
