import type * as pulumi from "@pulumi/pulumi";
import type { SqlDeltaProviderInputs, SqlDeltaProviderOutputs } from "./sqlDeltaInputs";
import * as lifecycle from "./sqlDeltaLifecycle";

/**
 * Translates the Pulumi lifecycle of one (tenant, delta) to
 * ./sqlDeltaLifecycle. Pulumi serializes this object into state; it reaches
 * library code only through the module object and captures no clients or
 * secrets.
 */
export class SqlDeltaProvider implements pulumi.dynamic.ResourceProvider {
    async check(olds: Partial<SqlDeltaProviderInputs>, news: SqlDeltaProviderInputs): Promise<pulumi.dynamic.CheckResult> {
        return lifecycle.check(olds, news);
    }

    async diff(_id: string, olds: SqlDeltaProviderOutputs, news: SqlDeltaProviderInputs): Promise<pulumi.dynamic.DiffResult> {
        return lifecycle.diff(olds, news);
    }

    async create(inputs: SqlDeltaProviderInputs): Promise<pulumi.dynamic.CreateResult> {
        return lifecycle.create(inputs);
    }

    async update(_id: string, olds: SqlDeltaProviderOutputs, news: SqlDeltaProviderInputs): Promise<pulumi.dynamic.UpdateResult> {
        return lifecycle.update(olds, news);
    }

    async delete(_id: string, props: SqlDeltaProviderOutputs): Promise<void> {
        return lifecycle.remove(props);
    }

    async read(id: string, props: SqlDeltaProviderOutputs): Promise<pulumi.dynamic.ReadResult> {
        return lifecycle.read(id, props);
    }
}
