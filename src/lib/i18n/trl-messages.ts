/**
 * Strings of the "run this on a GPU server" export and the trainer_state.json download (Train
 * page), in English and Japanese. Spread into the dictionaries of messages.ts.
 */
export const trlEn = {
	'train.exportGpu': 'Export for a GPU server',
	'train.exportGpuHint':
		'A zip with a small Python project that re-runs this training with Hugging Face TRL, PEFT and accelerate — on a workstation, a multi-GPU server or a Slurm cluster. Its README has the commands.',
	'train.trainerState': 'Download trainer_state.json',
	'train.exportFailed': 'Could not export: {error}'
} as const;

export const trlJa: Record<keyof typeof trlEn, string> = {
	'train.exportGpu': 'GPU サーバー用に書き出す',
	'train.exportGpuHint':
		'この学習を Hugging Face の TRL・PEFT・accelerate でそのまま再実行する小さな Python プロジェクトを zip で書き出します。ワークステーション、複数 GPU のサーバー、Slurm クラスターで動き、コマンドは README にあります。',
	'train.trainerState': 'trainer_state.json をダウンロード',
	'train.exportFailed': '書き出せませんでした: {error}'
};
