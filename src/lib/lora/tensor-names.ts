/**
 * PEFT's names, shared by the product and the float64 reference: the two files of an adapter
 * folder, the module names of `Gemma2ForCausalLM.named_modules()` (`model.layers.3.mlp.up_proj`)
 * and the saved tensor names (`base_model.model.` + module + `.lora_A.weight`). See
 * docs/specs/peft-files.md.
 */
import type { ProjectionName } from '../model/weights';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** What the reference backward needs of an adapted module (lora/adapter.ts LoraModule has it). */
export interface LoraModuleParams {
	layer: number;
	proj: ProjectionName;
	r: number;
	scale: number;
	A: ArrayLike<number>;
	B: ArrayLike<number>;
}

export function projectionGroup(proj: ProjectionName): 'self_attn' | 'mlp' {
	return proj === 'gate_proj' || proj === 'up_proj' || proj === 'down_proj' ? 'mlp' : 'self_attn';
}

/** `model.layers.{i}.{self_attn|mlp}.{proj}` — the key PEFT matches target_modules and patterns on. */
export function loraModuleName(layer: number, proj: ProjectionName): string {
	return `model.layers.${layer}.${projectionGroup(proj)}.${proj}`;
}

/** PEFT's saved tensor name: `base_model.model.model.layers.{i}.{group}.{proj}.lora_{A|B}.weight`. */
export function loraTensorName(layer: number, proj: ProjectionName, which: 'A' | 'B'): string {
	return `base_model.model.${loraModuleName(layer, proj)}.lora_${which}.weight`;
}
