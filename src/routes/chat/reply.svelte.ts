/**
 * The reply being written on the chat page: runs one chat turn ($lib/chat/turn) on the worker and
 * keeps what the page shows meanwhile — the prompt tokens being processed, the text so far, the
 * speed, and an error (with the message put back when the model never answered).
 */
import * as Comlink from 'comlink';
import { t } from '$lib/i18n/index.svelte';
import { describeError } from '$lib/i18n/describe-error';
import { plural } from '$lib/i18n/format';
import { studioDb } from '$lib/data/db';
import type { ChatSession } from '$lib/data/types';
import { chatTurn, type TurnInput } from '$lib/chat/turn';
import { worker } from '$lib/worker/client';
import type { ModelInfo } from '$lib/worker/api';

export interface ReplyStats {
	tokensPerSecond: number;
	firstTokenSeconds?: number;
	tokens: number;
}

export class ChatReply {
	generating = $state(false);
	/** The reply so far. */
	partial = $state('');
	/** Prompt tokens of the message being answered (shown while the prompt is processed). */
	promptTokens = $state(0);
	stats = $state<ReplyStats | null>(null);
	error = $state<string | null>(null);
	/** The message was put back into the box (the model never answered it). */
	notSent = $state(false);

	clear() {
		this.partial = '';
		this.stats = null;
		this.error = null;
	}

	/**
	 * Sends `input.text`: `saved` once the message is saved, `shown` whenever the conversation
	 * changes after that, `putBack` with a message the model never answered, `scroll` as text grows.
	 */
	async send(
		model: ModelInfo,
		input: TurnInput,
		on: {
			saved(s: ChatSession): void;
			shown(s: ChatSession | null): void;
			putBack(text: string): void;
			scroll(): void;
		}
	): Promise<void> {
		this.error = null;
		this.notSent = false;
		const out = await chatTurn(
			studioDb(),
			{
				ref: { model: model.id, adapterId: model.adapter?.id },
				contextLength: model.config.contextLength,
				encode: (texts) => worker().encode(texts),
				chat: (request, onProgress) => worker().chat(request, Comlink.proxy(onProgress))
			},
			input,
			{
				saved: (s, tokens) => {
					on.saved(s);
					this.promptTokens = tokens;
					this.generating = true;
					this.partial = '';
					on.scroll();
				},
				progress: (p) => {
					this.partial = p.text;
					this.stats = { tokensPerSecond: p.tokensPerSecond, tokens: p.tokens };
					on.scroll();
				}
			}
		);
		if (out.kind === 'too-long') {
			this.error = t('chat.tooLong', {
				tokens: plural(out.tokens, 'unit.tokens'),
				limit: plural(out.limit, 'unit.tokens')
			});
			return;
		}
		if (out.kind === 'answered') {
			const { tokensPerSecond, firstTokenSeconds, tokens } = out.result;
			this.stats = { tokensPerSecond, firstTokenSeconds, tokens };
			on.shown(out.session);
		} else if (out.kind === 'stopped') {
			on.putBack(out.takenBack);
			on.shown(out.session);
		} else {
			this.error = describeError(out.error);
			if (out.takenBack !== null) {
				on.putBack(out.takenBack);
				this.notSent = true;
				on.shown(out.session);
			}
		}
		this.generating = false;
		this.partial = '';
		on.scroll();
	}
}
