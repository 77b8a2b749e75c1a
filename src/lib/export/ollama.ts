/**
 * An Ollama Modelfile for a GGUF LoRA (docs/GGUF-LORA.md). The base must be the model the adapter
 * was trained on: for Google's gemma-2-2b-it and gemma-2-2b, Ollama's library has the same weights
 * (gemma2:2b-instruct-fp16, gemma2:2b-text-fp16); for gemma-2-2b-jpn-it (the studio's default) it
 * has none, so the Modelfile names a local GGUF of the original that the README shows how to make
 * with llama.cpp's convert_hf_to_gguf.py. The chat template and stop words are Gemma's turn format,
 * the sampling values the studio's chat defaults.
 */
import { DEFAULT_SAMPLING } from '../chat/defaults';

export const GGUF_ADAPTER_FILE = 'adapter.gguf';

const OLLAMA_LIBRARY: Record<string, string> = {
	'google/gemma-2-2b-it': 'gemma2:2b-instruct-fp16',
	'google/gemma-2-2b': 'gemma2:2b-text-fp16'
};

export interface OllamaBase {
	/** What FROM names: an Ollama library tag, or a local GGUF file next to the Modelfile. */
	from: string;
	/** True when `from` is a local file the user makes from the Hugging Face original. */
	localFile: boolean;
}

/** The FROM of the Modelfile for an adapter trained on `hfBaseModel` (a Hugging Face id). */
export function ollamaBase(hfBaseModel: string): OllamaBase {
	const tag = OLLAMA_LIBRARY[hfBaseModel];
	if (tag) return { from: tag, localFile: false };
	const name = hfBaseModel.split('/').pop() || 'base-model';
	return { from: `./${name}-f16.gguf`, localFile: true };
}

/** Gemma's turns (no system role: a system message is sent as a user turn, as Gemma expects). */
const GEMMA_TEMPLATE = `{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if or (eq .Role "user") (eq .Role "system") }}<start_of_turn>user
{{ .Content }}<end_of_turn>
{{ if $last }}<start_of_turn>model
{{ end }}
{{- else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}{{ if not $last }}<end_of_turn>
{{ end }}
{{- end }}
{{- end }}`;

export function ollamaModelfile(base: OllamaBase, adapterFile = GGUF_ADAPTER_FILE): string {
	const s = DEFAULT_SAMPLING;
	return [
		`FROM ${base.from}`,
		`ADAPTER ./${adapterFile}`,
		`TEMPLATE """${GEMMA_TEMPLATE}"""`,
		'PARAMETER stop <start_of_turn>',
		'PARAMETER stop <end_of_turn>',
		`PARAMETER temperature ${s.temperature}`,
		`PARAMETER top_k ${s.topK}`,
		`PARAMETER top_p ${s.topP}`,
		`PARAMETER repeat_penalty ${s.repetitionPenalty}`,
		''
	].join('\n');
}
