/** A Hub error in the user's language: the reason for the code, then the technical detail. */
import { t } from '$lib/i18n/index.svelte';
import type { MessageKey } from '$lib/i18n/messages';
import { hubErrorOf } from '$lib/export/hub-publish';

export function hubErrorText(e: unknown): string {
	const err = hubErrorOf(e);
	return `${t(`hub.error.${err.code}` as MessageKey)} (${err.message})`;
}
