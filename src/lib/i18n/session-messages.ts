/** How the model session's errors (session/errors.ts) read, by code; `{name}` is a parameter. */
export const sessionEn = {
	'error.no-model-loaded': 'No model is loaded: load one with the model picker.',
	'error.context-overflow':
		'The prompt is {tokens} tokens long; the model’s context holds {limit}. Start a new chat or shorten it.',
	'error.device-lost':
		'The GPU was lost ({reason}) and the model with it. Load the model again (no page reload needed).',
	'error.out-of-memory':
		'The GPU ran out of memory ({mib} MiB asked for). Close other GPU tabs, or use a smaller model, context or LoRA rank.',
	'error.adapter-mismatch': 'The adapter “{adapter}” does not fit the loaded model: {detail}',
	'error.adapter-not-found': 'The adapter was not found (deleted?).',
	'error.training-already-running':
		'A training run is already running: pause or stop it before starting another.',
	'error.token-out-of-range': 'Token id {id} is outside the model’s vocabulary ({vocabSize}).',
	'error.storage-full':
		'The browser’s storage for this site is full: {what} was not saved (nothing half-written was kept). Free space on the Datasets or Adapters page, or in the browser’s site settings, then try again.'
};

export const sessionJa: Record<keyof typeof sessionEn, string> = {
	'error.no-model-loaded': 'モデルが読み込まれていません。モデル選択から読み込んでください。',
	'error.context-overflow':
		'プロンプトが {tokens} トークンあり、モデルのコンテキスト（{limit}）に収まりません。新しいチャットを始めるか、短くしてください。',
	'error.device-lost':
		'GPU が失われ（{reason}）、モデルも失われました。モデルをもう一度読み込んでください（ページの再読み込みは不要です）。',
	'error.out-of-memory':
		'GPU のメモリが足りません（{mib} MiB を要求）。GPU を使う他のタブを閉じるか、より小さいモデル・コンテキスト・LoRA ランクを使ってください。',
	'error.adapter-mismatch': 'アダプター「{adapter}」は読み込んだモデルに合いません: {detail}',
	'error.adapter-not-found': 'アダプターが見つかりません（削除されましたか？）。',
	'error.training-already-running':
		'学習がすでに実行中です。別の学習を始める前に一時停止か停止をしてください。',
	'error.token-out-of-range': 'トークン ID {id} はモデルの語彙（{vocabSize}）の範囲外です。',
	'error.storage-full':
		'このサイトのブラウザー保存領域がいっぱいです。{what}は保存されませんでした（書きかけのデータは残っていません）。データセットまたはアダプターのページ、あるいはブラウザーのサイト設定で空きを作ってから、もう一度お試しください。'
};
