/**
 * An error as the user reads it, in the current language: the model session's typed errors by
 * their code and parameters (i18n/session-messages.ts), a full storage quota (data/storage-write.ts);
 * anything else by its own message.
 */
import { isSessionError } from '../session/errors';
import { StorageFullError } from '../data/storage-write';
import { t } from './index.svelte';
import type { MessageKey } from './messages';

export function describeError(e: unknown): string {
	if (isSessionError(e)) {
		const params: Record<string, string | number> = { ...e.params };
		if (e.code === 'out-of-memory') params.mib = Math.round((params.bytes as number) / 2 ** 20);
		return t(`error.${e.code}` as MessageKey, params);
	}
	if (e instanceof StorageFullError) return t('error.storage-full', { what: e.what });
	return e instanceof Error ? e.message : String(e);
}
