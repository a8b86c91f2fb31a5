import type * as pulumi from "@pulumi/pulumi";
import type { DeltaDeploymentProviderInputs, DeltaDeploymentProviderOutputs } from "./deltaDeploymentInputs";
import * as lifecycle from "./deltaDeploymentLifecycle";

/**
 * Translates the Pulumi lifecycle to ./deltaDeploymentLifecycle. Pulumi
 * serializes this object into state; it reaches library code only through
 * the module object, so the state holds a `require` of the installed
 * library rather than a copy of it, and it captures no clients or secrets.
 */
export class DeltaDeploymentProvider implements pulumi.dynamic.ResourceProvider {
    async check(_olds: DeltaDeploymentProviderInputs, news: DeltaDeploymentProviderInputs): Promise<pulumi.dynamic.CheckResult> {
        return lifecycle.check(news);
    }

    async diff(_id: string, olds: DeltaDeploymentProviderOutputs, news: DeltaDeploymentProviderInputs): Promise<pulumi.dynamic.DiffResult> {
        return lifecycle.diff(olds, news);
    }

    async create(inputs: DeltaDeploymentProviderInputs): Promise<pulumi.dynamic.CreateResult> {
        return lifecycle.create(inputs);
    }

    async update(_id: string, olds: DeltaDeploymentProviderOutputs, news: DeltaDeploymentProviderInputs): Promise<pulumi.dynamic.UpdateResult> {
        return lifecycle.update(olds, news);
    }

    async delete(_id: string, props: DeltaDeploymentProviderOutputs): Promise<void> {
        return lifecycle.remove(props);
    }
}
