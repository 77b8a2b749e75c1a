/**
 * The Hugging Face original of the model an adapter was trained on. The studio runs MLC builds
 * (`mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC`: Google's weights, 4-bit); Python, llama.cpp and Ollama
 * load the original (`google/gemma-2-2b-jpn-it`). Anything else is returned as it is.
 */
const MLC_GEMMA2 = /^(?:[\w.-]+\/)?(gemma-2-2b(?:-jpn)?(?:-it)?)-q\d\w*-MLC$/i;

export function huggingFaceBaseModel(modelId: string): string {
	const m = MLC_GEMMA2.exec(modelId.trim());
	return m ? `google/${m[1].toLowerCase()}` : modelId;
}
