/**
 * Does a conversation still fit the model's context? Counted before anything is saved, with the
 * loaded tokenizer (the worker's `encode`): every message's tokens plus the fixed tokens Gemma's chat
 * template adds — `<bos>` once; per turn `<start_of_turn>`, the role, "\n", `<end_of_turn>`, "\n";
 * and `<start_of_turn>model\n` that opens the reply. The character prompt goes at the start of the
 * first user turn, as src/lib/model/tokenizer.ts renders it.
 */
export const TEMPLATE_TOKENS = { bos: 1, perTurn: 5, generationPrompt: 3 } as const;

export interface ContextMessage {
	role: 'user' | 'model';
	content: string;
}

/** Tokens of the prompt the engine would process for this conversation. */
export async function promptTokenCount(
	encode: (texts: string[]) => Promise<number[][]>,
	messages: ContextMessage[],
	characterPrompt = ''
): Promise<number> {
	const firstUser = messages.findIndex((m) => m.role === 'user');
	const texts = messages.map((m, i) =>
		i === firstUser && characterPrompt.trim()
			? `${characterPrompt.trim()}\n\n${m.content.trim()}`
			: m.content.trim()
	);
	const ids = texts.length ? await encode(texts) : [];
	const body = ids.reduce((a, x) => a + x.length + TEMPLATE_TOKENS.perTurn, 0);
	return TEMPLATE_TOKENS.bos + body + TEMPLATE_TOKENS.generationPrompt;
}

/** The engine needs room for at least one new token after the prompt. */
export function fitsContext(promptTokens: number, contextLength: number): boolean {
	return promptTokens < contextLength;
}
