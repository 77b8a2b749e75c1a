/** Defaults of the chat page: the model and sampling a first visit starts with. */
import type { SamplingSettings } from '../data/types';
import type { ModelSource } from '../worker/api';

export const DEFAULT_MODEL: ModelSource = {
	kind: 'hub',
	repo: 'mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC',
	revision: 'main'
};

/** Gemma's published generation config is greedy-free sampling; these are the studio's defaults. */
export const DEFAULT_SAMPLING: SamplingSettings = {
	temperature: 0.7,
	topK: 40,
	topP: 0.95,
	repetitionPenalty: 1.1,
	maxNewTokens: 512
};

/** A short title from the first user message. */
export function chatTitle(firstMessage: string): string {
	const line = firstMessage.trim().split('\n')[0];
	return line.length > 48 ? `${line.slice(0, 47)}…` : line;
}
