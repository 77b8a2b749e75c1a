/**
 * The Hugging Face original of the model an adapter was trained on. The studio runs MLC builds
 * (`mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC`: Google's weights, 4-bit); Python, llama.cpp, Ollama and
 * the Hub's `base_model` name the original (`google/gemma-2-2b-jpn-it`). One mapping for every
 * export (READMEs, model cards, the TRL project).
 */
/**
 * The Hugging Face original of a model the studio loaded: an MLC conversion
 * (`mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC`, `…@main`, a served `/models/…-MLC/` folder,
 * `local:gemma-2-9b-it-q4f32_1-MLC`) maps to `google/<name>`; a plain Hugging Face id stays as it
 * is; anything else is null (the caller asks for `--base-model`).
 */
export function hfBaseModelFor(modelId: string): string | null {
	const id = modelId.trim().replace(/@[^/]*$/, '');
	const name =
		id
			.replace(/^local:/, '')
			.replace(/\/+$/, '')
			.split('/')
			.at(-1) ?? '';
	const mlc = /^(gemma-2-[a-z0-9.-]+?)-q\d+f\d+(_\d+)?-MLC$/i.exec(name);
	if (mlc) return `google/${mlc[1]}`;
	if (/^[\w.-]+\/[\w.-]+$/.test(id) && !/-MLC$/i.test(id)) return id;
	return null;
}

/** `hfBaseModelFor`, or the id as it is when it names no Hugging Face model. */
export function huggingFaceBaseModel(modelId: string): string {
	return hfBaseModelFor(modelId) ?? modelId;
}
