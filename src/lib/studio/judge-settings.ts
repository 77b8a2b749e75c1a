/**
 * Who judges (the loaded model, or an OpenAI-compatible server), remembered in this browser's
 * database, and the checks that run before judging may start.
 */
import { getSetting, putSetting, type StudioDatabase } from '../data/db';
import { DEFAULT_JUDGE_SAMPLING } from './judge';
import type { FieldLimit } from './sampling';

export const JUDGE_SETTING = 'studio.judge.remote';

export const JUDGE_MAX_TOKENS_LIMIT: FieldLimit = { min: 1, max: 2048, step: 1, integer: true };

export interface JudgeSettings {
	kind: 'local' | 'remote';
	endpoint: string;
	model: string;
	/** Kept in this browser's database only; never written into a judgment. */
	apiKey: string;
	maxNewTokens: number;
}

export function defaultJudgeSettings(): JudgeSettings {
	return {
		kind: 'local',
		endpoint: 'https://api.openai.com/v1',
		model: 'gpt-4o-mini',
		apiKey: '',
		maxNewTokens: DEFAULT_JUDGE_SAMPLING.maxNewTokens
	};
}

export async function loadJudgeSettings(db: StudioDatabase): Promise<JudgeSettings> {
	const saved = await getSetting<Partial<JudgeSettings> | null>(db, JUDGE_SETTING, null);
	return { ...defaultJudgeSettings(), ...saved };
}

export async function saveJudgeSettings(
	db: StudioDatabase,
	settings: JudgeSettings
): Promise<void> {
	await putSetting(db, JUDGE_SETTING, { ...settings });
}

export type JudgeSettingsProblem = 'model' | 'maxNewTokens' | 'endpoint' | 'remoteModel';

/** What keeps judging from starting with these settings (empty: it may start). */
export function judgeSettingsProblems(
	settings: JudgeSettings,
	modelLoaded: boolean
): JudgeSettingsProblem[] {
	const problems: JudgeSettingsProblem[] = [];
	if (settings.kind === 'local') {
		if (!modelLoaded) problems.push('model');
		const n = settings.maxNewTokens;
		if (!Number.isInteger(n) || n < JUDGE_MAX_TOKENS_LIMIT.min || n > JUDGE_MAX_TOKENS_LIMIT.max)
			problems.push('maxNewTokens');
	} else {
		if (!/^https?:\/\/[^\s/]+/i.test(settings.endpoint.trim())) problems.push('endpoint');
		if (!settings.model.trim()) problems.push('remoteModel');
	}
	return problems;
}
