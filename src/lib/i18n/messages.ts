/**
 * Every string the UI shows, in English and Japanese. Keys are grouped by page. The Japanese
 * dictionary must have exactly the English keys (a unit test checks it).
 */
export const en = {
	'app.name': 'Mondō Studio',
	'app.tagline':
		'Chat with Gemma-2, grow a character dataset, and train a LoRA adapter on your own GPU — in this tab.',
	'nav.home': 'Home',
	'nav.chat': 'Chat',
	'nav.studio': 'Data studio',
	'nav.characters': 'Characters',
	'nav.generate': 'Generate',
	'nav.judge': 'Judge',
	'nav.review': 'Review',
	'nav.datasets': 'Datasets',
	'nav.train': 'Train',
	'nav.adapters': 'Adapters',
	'nav.settings': 'Settings',
	'nav.language': 'Language',
	'common.loading': 'Loading…',
	'common.save': 'Save',
	'common.delete': 'Delete',
	'common.cancel': 'Cancel',
	'common.create': 'Create',
	'common.name': 'Name',
	'common.none': 'Nothing here yet.',
	'common.comingSoon': 'This part of the studio is being built.',
	'home.start': 'Where to start',
	'home.step.chat':
		'Chat with Gemma-2 2B: the model is downloaded once from the Hugging Face hub and cached in this browser.',
	'home.step.studio':
		'Describe a character, let two AIs talk, let an AI judge score them, and review the result.',
	'home.step.train':
		'Train a LoRA adapter on your own GPU, watch the loss, and chat with the result.',
	'home.step.share':
		'Export the adapter for Python (PEFT) or share a link that opens straight into a chat.',
	'home.gpu': 'Your GPU',
	'gpu.checking': 'Checking WebGPU…',
	'gpu.ready': 'WebGPU is ready',
	'gpu.missing.title': 'This browser cannot run the studio’s model',
	'gpu.missing.body':
		'Mondō Studio runs Gemma-2 on your GPU through WebGPU, which this browser does not offer.',
	'gpu.missing.reason': 'What is missing',
	'gpu.missing.browsers':
		'Browsers that work: Chrome or Edge 113+ on Windows, macOS and ChromeOS; Chrome on Android 121+; Chromium on Linux with WebGPU enabled (chrome://flags/#enable-unsafe-webgpu); Safari 26+ on macOS and iOS; Firefox 141+ on Windows.',
	'gpu.missing.dataStillWorks':
		'Your characters, datasets and adapters are still here: the data pages work without a GPU.',
	'gpu.adapter': 'Adapter',
	'gpu.features': 'Features',
	'gpu.limits': 'Limits',
	'settings.title': 'Settings',
	'settings.language': 'Interface language',
	'settings.gpu': 'WebGPU',
	'settings.storage': 'Storage',
	'settings.storage.persisted': 'Persistent storage granted',
	'settings.storage.notPersisted':
		'Storage is not persistent: the browser may evict it under pressure',
	'settings.storage.usage': 'Used',
	'settings.storage.quota': 'Available to the studio',
	'characters.title': 'Characters',
	'characters.new': 'New character',
	'characters.profile': 'Profile',
	'characters.language': 'Language',
	'chat.title': 'Chat',
	'studio.title': 'Data studio',
	'studio.intro':
		'Characters, AI×AI dialogues, judging, review and datasets — the whole loop in one place.',
	'generate.title': 'Generate dialogues',
	'judge.title': 'Judge dialogues',
	'review.title': 'Review',
	'datasets.title': 'Datasets',
	'train.title': 'Train a LoRA adapter',
	'adapters.title': 'Adapters'
} as const;

export type MessageKey = keyof typeof en;

export const ja: Record<MessageKey, string> = {
	'app.name': 'Mondō Studio（問答スタジオ）',
	'app.tagline':
		'Gemma-2 と話し、キャラクターのデータセットを育て、自分の GPU で LoRA アダプターを学習する——すべてこのタブの中で。',
	'nav.home': 'ホーム',
	'nav.chat': 'チャット',
	'nav.studio': 'データスタジオ',
	'nav.characters': 'キャラクター',
	'nav.generate': '生成',
	'nav.judge': '評価',
	'nav.review': 'レビュー',
	'nav.datasets': 'データセット',
	'nav.train': '学習',
	'nav.adapters': 'アダプター',
	'nav.settings': '設定',
	'nav.language': '言語',
	'common.loading': '読み込み中…',
	'common.save': '保存',
	'common.delete': '削除',
	'common.cancel': 'キャンセル',
	'common.create': '作成',
	'common.name': '名前',
	'common.none': 'まだ何もありません。',
	'common.comingSoon': 'この機能は現在開発中です。',
	'home.start': 'はじめに',
	'home.step.chat':
		'Gemma-2 2B とチャット：モデルは Hugging Face Hub から一度だけダウンロードされ、このブラウザにキャッシュされます。',
	'home.step.studio':
		'キャラクターを設定し、AI 同士に対話させ、AI の評価者に採点させ、結果を確認します。',
	'home.step.train':
		'自分の GPU で LoRA アダプターを学習し、損失を見守り、その結果とチャットします。',
	'home.step.share':
		'アダプターを Python（PEFT）向けに書き出すか、チャットを直接開くリンクで共有します。',
	'home.gpu': 'あなたの GPU',
	'gpu.checking': 'WebGPU を確認しています…',
	'gpu.ready': 'WebGPU が使えます',
	'gpu.missing.title': 'このブラウザではスタジオのモデルを動かせません',
	'gpu.missing.body':
		'Mondō Studio は WebGPU を通じてあなたの GPU で Gemma-2 を動かしますが、このブラウザは WebGPU に対応していません。',
	'gpu.missing.reason': '足りないもの',
	'gpu.missing.browsers':
		'動作するブラウザ：Windows・macOS・ChromeOS の Chrome / Edge 113 以降、Android の Chrome 121 以降、WebGPU を有効にした Linux の Chromium（chrome://flags/#enable-unsafe-webgpu）、macOS・iOS の Safari 26 以降、Windows の Firefox 141 以降。',
	'gpu.missing.dataStillWorks':
		'キャラクター、データセット、アダプターは残っています。データのページは GPU なしでも使えます。',
	'gpu.adapter': 'アダプター',
	'gpu.features': '機能',
	'gpu.limits': '上限',
	'settings.title': '設定',
	'settings.language': '表示言語',
	'settings.gpu': 'WebGPU',
	'settings.storage': 'ストレージ',
	'settings.storage.persisted': '永続ストレージが許可されています',
	'settings.storage.notPersisted':
		'ストレージは永続化されていません。容量が逼迫するとブラウザに削除される可能性があります',
	'settings.storage.usage': '使用量',
	'settings.storage.quota': 'スタジオが使える容量',
	'characters.title': 'キャラクター',
	'characters.new': '新しいキャラクター',
	'characters.profile': 'プロフィール',
	'characters.language': '言語',
	'chat.title': 'チャット',
	'studio.title': 'データスタジオ',
	'studio.intro':
		'キャラクター、AI 同士の対話、評価、レビュー、データセット——一連の流れをひとつの場所で。',
	'generate.title': '対話を生成',
	'judge.title': '対話を評価',
	'review.title': 'レビュー',
	'datasets.title': 'データセット',
	'train.title': 'LoRA アダプターを学習',
	'adapters.title': 'アダプター'
};

export const dictionaries = { en, ja } as const;
export type Locale = keyof typeof dictionaries;
export const LOCALES: { id: Locale; label: string }[] = [
	{ id: 'en', label: 'English' },
	{ id: 'ja', label: '日本語' }
];
