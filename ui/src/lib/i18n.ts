// A small i18n module: two dictionaries (English, Simplified Chinese), `{name}` placeholders,
// and the locale picked once at start: the language saved in the preferences (Settings), else
// from `navigator.languages` (zh* -> Chinese, anything else -> English).
// Backend errors are worded from their code (`errorText`; the sentences are in ./errorTexts.ts).
import { errorMessages, isKnownErrorCode } from './errorTexts';
import { readPreferences, type Language } from './savedPreferences';

export type Locale = 'en' | 'zh-CN';

const en = {
  'app.name': 'Gtedx IM',
  'app.loading': 'Loading…',

  'auth.signInTitle': 'Sign in to Gtedx IM',
  'auth.signUpTitle': 'Create your Gtedx IM account',
  'auth.formLabel': 'Account',
  'auth.serverUrl': 'Server',
  'auth.username': 'Username',
  'auth.password': 'Password',
  'auth.displayName': 'Display name',
  'auth.signIn': 'Sign in',
  'auth.signUp': 'Create account',
  'auth.signingIn': 'Signing in…',
  'auth.signingUp': 'Creating account…',
  'auth.toSignUp': 'No account yet? Sign up',
  'auth.toSignIn': 'Already have an account? Sign in',
  'auth.usernameHint': '3–32 characters: a–z, 0–9, _ . -',
  'auth.passwordHint': '8 to 256 bytes: a letter or digit is 1 byte, a Chinese character 3',
  'auth.keyringTitle': 'The system keyring is missing or locked',
  'auth.keyringHelp':
    'Gtedx IM keeps your sign-in only in the system keyring (the Secret Service, e.g. gnome-keyring or KWallet) and never in a plain file. The keyring is not installed or not unlocked, so your credentials were not stored. Unlock or install a keyring, then try again.',
  'auth.signedOut': 'You were signed out: {reason}',
  'auth.signedOutNoReason': 'You were signed out.',
  'auth.serverSecure': 'Secure connection (TLS)',
  'auth.serverLocal': 'Not encrypted: fine for a server on this computer',
  'auth.serverInsecure': 'Not encrypted',
  'auth.insecureTitle': 'This connection is not encrypted',
  'auth.insecureText':
    "Your messages and your password would travel over the network unencrypted, so others on the network could read them. If you can, ask the server's administrator for a secure address (starting with https:// or wss://).",
  'auth.allowInsecure': 'Connect without encryption anyway',
  'auth.insecureConfirm': 'To connect to this server, first tick “Connect without encryption anyway”, or use a secure address.',
  'auth.inviteCode': 'Invite code',
  'auth.inviteHint': 'This server needs an invite code to create an account. Ask its administrator for one.',
  'auth.inviteMissing': 'Enter your invite code.',
  'auth.signUpClosed': 'This server does not take sign-ups. Ask its administrator for an account.',

  'main.me': 'Signed in as {name}',
  'main.signOut': 'Sign out',
  'main.blockedUsers': 'Blocked users',
  'main.settings': 'Settings',
  'main.settingsShortcut': 'Settings (Ctrl+,)',
  'main.newChat': 'New chat',
  'main.conversations': 'Conversations',
  'main.noConversations': 'No conversations yet. Start one with “New chat”.',
  'main.pickConversation': 'Select a conversation to start messaging',
  'main.chat': 'Chat',

  'switcher.title': 'Go to a conversation',
  'switcher.open': 'Search',
  'switcher.openLabel': 'Search conversations and people ({shortcut})',
  'switcher.label': 'Conversation or @username',
  'switcher.placeholder': 'Find a conversation, or type a @username',
  'switcher.results': 'Conversations and people',
  'switcher.count': '{n} results',
  'switcher.none': 'No conversation matches.',
  'switcher.searching': 'Looking for {name}…',
  'switcher.startChat': 'Start a chat with {name}',
  'switcher.hint': '↑↓ to move, Enter to open, Esc to close',

  'search.open': 'Search messages',
  'search.openLabel': 'Search messages ({shortcut})',
  'search.title': 'Message search',
  'search.label': 'Search messages',
  'search.placeholder': 'Search messages',
  'search.close': 'Close search',
  'search.hint': 'Search messages on this device',
  'search.keys': '↑↓ to move, Enter to open, Esc to close',
  'search.searching': 'Searching…',
  'search.none': 'No messages with “{query}”',
  'search.count': 'Messages found: {n}',
  'search.limited': 'Only the newest {n} are shown: add a word to narrow the search.',
  'search.results': 'Messages found',
  'search.group': '{title}: {n} found',
  'search.you': 'You',
  'search.untitled': 'Untitled conversation',
  'search.failed': 'The search failed.',
  'search.retry': 'Try again',
  'search.notReached': 'That message could not be found in the conversation’s history.',
  'search.conversationGone': 'That conversation is no longer in your list.',

  'signOut.title': 'Sign out of Gtedx IM?',
  'signOut.text': 'You can sign in again at any time with your username and password.',
  'signOut.offline': 'You are offline: the server is told as soon as the app can reach it.',
  'signOut.forgetData': "Also remove this account's messages from this computer",
  'signOut.cancel': 'Cancel',
  'signOut.confirm': 'Sign out',
  'signOut.busy': 'Signing out…',

  'identity.similar': 'Another contact has a similar name',
  'identity.similarTo': 'Another contact has a similar name: {names}. Check the username.',
  'identity.username': 'Username: {username}',

  'list.you': 'You: {text}',
  'list.sender': '{name}: {text}',
  'list.noMessages': 'No messages yet',
  'list.unread': '{n} unread',
  'list.failed': 'Not sent',
  'list.muted': 'Muted',
  'list.mentioned': '[@me]',
  'list.mentionedLabel': 'You were mentioned',

  'chat.members': '{n} members',
  'chat.messages': 'Messages',
  'chat.loadingOlder': 'Loading older messages…',
  'chat.beginning': 'This is the beginning of the conversation',
  'chat.empty': 'No messages here yet. Say hello!',
  'chat.today': 'Today',
  'chat.yesterday': 'Yesterday',
  'chat.toBottom': 'Scroll to the newest message',
  'chat.back': 'Back to conversations',
  'chat.toBottomNew': 'Scroll to the newest message ({n} new)',
  'chat.newMessages': 'New messages',
  'chat.menu': 'Conversation actions',
  'chat.mute': 'Mute notifications',
  'chat.unmute': 'Unmute notifications',
  'chat.muted': 'Muted: no notifications',
  'chat.leave': 'Leave group',
  'chat.block': 'Block {name}',
  'chat.unblock': 'Unblock {name}',

  'dialog.cancel': 'Cancel',

  'leave.title': 'Leave “{title}”?',
  'leave.titleUntitled': 'Leave this group?',
  'leave.text': 'You will stop getting its messages, and it leaves your conversation list. Only the group’s manager can add you back.',
  'leave.confirm': 'Leave group',
  'leave.busy': 'Leaving…',

  'block.title': 'Block {name}?',
  'block.text': '{name} will not be able to message you or add you to groups. You will not be able to message them either until you unblock them.',
  'block.where': 'You can unblock them at any time (Blocked users, next to Sign out).',
  'block.confirm': 'Block',
  'block.busy': 'Blocking…',
  'block.banner': 'You blocked {name}.',
  'block.unblock': 'Unblock',
  'block.unblockLabel': 'Unblock {name}',
  'block.notAccepting': '{name} isn’t accepting your messages.',
  'block.youBlocked': 'Not sent: you blocked {name}.',

  'blocked.title': 'Blocked users',
  'blocked.text': 'People you block cannot message you or add you to groups.',
  'blocked.empty': 'You haven’t blocked anyone.',
  'blocked.loading': 'Loading…',
  'blocked.failed': 'The list could not be loaded.',
  'blocked.retry': 'Try again',
  'blocked.close': 'Close',
  'blocked.unknown': 'Unknown user',

  'settings.title': 'Settings',
  'settings.close': 'Close',
  'settings.account': 'Account',
  'settings.displayName': 'Display name',
  'settings.username': 'Username',
  'settings.server': 'Server',
  'settings.notifications': 'Notifications',
  'settings.notificationText': 'Show message text in notifications',
  'settings.notificationTextHint': 'Off: notifications say only who wrote, not what.',
  'settings.password': 'Password',
  'settings.passwordText': 'Changing your password signs out your other devices. This device stays signed in.',
  'settings.currentPassword': 'Current password',
  'settings.newPassword': 'New password',
  'settings.repeatPassword': 'Repeat new password',
  'settings.newPasswordHint': '8 to 256 bytes: a letter or digit is 1 byte, a Chinese character 3',
  'settings.currentMissing': 'Enter your current password.',
  'settings.passwordTooShort': 'The new password needs at least 8 bytes (a letter or digit is 1 byte, a Chinese character 3).',
  'settings.passwordTooLong': 'The new password is too long: at most 256 bytes (a letter or digit is 1 byte, a Chinese character 3).',
  'settings.passwordMismatch': 'The two new passwords are not the same.',
  'settings.changePassword': 'Change password',
  'settings.changingPassword': 'Changing password…',
  'settings.passwordChanged': 'Password changed. Your other devices were signed out.',
  'settings.devices': 'Devices',
  'settings.devicesText': 'Where your account is signed in. Sign out any device you no longer use or do not recognise.',
  'settings.devicesLoading': 'Loading devices…',
  'settings.devicesFailed': 'Your devices could not be loaded.',
  'settings.retry': 'Try again',
  'settings.unknownDevice': 'Unknown device',
  'settings.thisDevice': 'This device',
  'settings.signedInAt': 'Signed in on {date}',
  'settings.signOutDevice': 'Sign out',
  'settings.signOutDeviceLabel': 'Sign out {device}',
  'settings.noOtherDevices': 'No other device is signed in to your account.',
  'settings.revokeFailed': '“{device}” could not be signed out. {reason}',
  'settings.appearance': 'Appearance',
  'settings.theme': 'Theme',
  'settings.themeSystem': 'System',
  'settings.themeLight': 'Light',
  'settings.themeDark': 'Dark',
  'settings.language': 'Language',
  'settings.languageSystem': 'System ({language})',
  'settings.languageHint': 'The window reloads to show the new language.',
  'settings.desktop': 'Desktop',
  'settings.closeToTray': 'Close to tray',
  'settings.closeToTrayHint': 'Closing the window keeps Gtedx IM running in the tray; quit with Ctrl+Q.',
  'settings.noTray': 'There is no system tray on this desktop, so closing the window quits Gtedx IM.',
  'settings.startAtLogin': 'Start Gtedx IM when you sign in to your computer',
  'settings.startAtLoginFailed': 'Gtedx IM could not change whether it starts when you sign in. {detail}',
  'settings.hardwareAcceleration': 'Use hardware acceleration',
  'settings.hardwareAccelerationHint': 'Off uses less memory and avoids blank windows with some graphics drivers. Takes effect after a restart.',
  'settings.restartToApply': 'Restart Gtedx IM to apply this.',
  'settings.restartNow': 'Restart now',
  'settings.restarting': 'Restarting…',
  'settings.desktopLoading': 'Loading…',
  'settings.desktopFailed': 'These settings could not be loaded.',
  'settings.pause': 'Pause notifications',
  'settings.pauseHint': 'While paused, this computer shows no notifications. The tray menu can pause them too.',
  'settings.pauseHour': 'For 1 hour',
  'settings.pauseTomorrow': 'Until tomorrow',
  'settings.pausedUntil': 'Paused until {time}',
  'settings.resume': 'Resume',
  'settings.storage': 'Storage',
  'settings.cacheUsage': 'Messages on this computer: {size} ({n} messages)',
  'settings.cacheUsageOne': 'Messages on this computer: {size} (1 message)',
  'settings.cacheLoading': 'Loading…',
  'settings.cacheFailed': 'The size of the messages kept on this computer could not be read.',
  'settings.cacheHint': 'Your chats stay on the server: clearing the cache only frees space on this computer.',
  'settings.cacheClear': 'Clear cache…',
  'settings.about': 'About',
  'settings.version': 'Version {version}',
  'settings.updateAuto': 'Check for updates automatically',
  'settings.updateAutoHint': 'When Gtedx IM starts, and once a day.',
  'settings.updateCheck': 'Check for updates',
  'settings.updateChecking': 'Checking for updates…',
  'settings.updateUpToDate': 'You’re up to date',
  'settings.updateUpToDateAt': 'You’re up to date (checked {time})',
  'settings.updateDownloading': 'Downloading version {version}… {percent}%',
  'settings.updateDownloadingBytes': 'Downloading version {version}… {size}',
  'settings.updateReady': 'Version {version} is ready',
  'settings.updateInstalling': 'Installing version {version}…',
  'settings.updateNotes': 'What’s new in {version}',

  'update.ready': 'Gtedx IM {version} is ready',
  'update.restart': 'Restart to update',
  'update.restarting': 'Restarting…',
  'update.later': 'Later',

  'clearCache.title': 'Clear the messages kept on this computer?',
  'clearCache.text': 'Your chats stay on the server and load again when you open them. Messages not yet sent are kept.',
  'clearCache.confirm': 'Clear cache',
  'clearCache.busy': 'Clearing…',

  'revokeSession.title': 'Sign out “{device}”?',
  'revokeSession.text': 'That device is signed out of your account right away. Signing in there again needs your password.',
  'revokeSession.hint': 'If you think someone else knows your password, change it as well.',
  'revokeSession.confirm': 'Sign out',
  'revokeSession.busy': 'Signing out…',

  'added.text': '{who} added you to {title}',
  'added.titled': '“{title}”',
  'added.untitled': 'a group',
  'added.mute': 'Mute',
  'added.unmute': 'Unmute',
  'added.leave': 'Leave',
  'added.dismiss': 'Dismiss',
  'added.region': 'Group invitations',

  'msg.sending': 'Sending',
  'msg.sent': 'Sent',
  'msg.read': 'Read',
  'msg.failed': 'Not sent',
  'msg.retry': 'Retry',
  'msg.retryLabel': 'Retry sending this message',
  'msg.actions': 'Message actions',
  'msg.reply': 'Reply',
  'msg.copy': 'Copy text',
  'msg.edit': 'Edit',
  'msg.recall': 'Recall',
  'msg.delete': 'Delete for me',
  'msg.copied': 'Text copied',
  'msg.copyFailed': 'The text could not be copied.',
  'msg.edited': 'edited',
  'msg.editedAt': 'Edited {time}',
  'msg.quoteLabel': 'Go to the message replied to: {name}: {text}',
  'msg.quoteRecalled': 'Message recalled',
  'msg.quoteUnknown': 'Original message',
  'msg.unsupported': 'A message this version of Gtedx IM cannot show: update the app to see it',
  'msg.mentionsMe': 'Mentions you',

  'reaction.quick': 'React',
  'reaction.react': 'React with {emoji}',
  'reaction.bar': 'Reactions',
  'reaction.label': '{emoji} {count}: {names}',
  'reaction.more': '{names} and {n} more',
  'reaction.separator': ', ',

  'mention.picker': 'Mention someone',
  'mention.all': 'Everyone',
  'mention.allToken': 'all',
  'mention.allHint': 'Notifies all members',

  'recall.you': 'You recalled a message',
  'recall.other': '{name} recalled a message',
  'recall.youFrom': 'You recalled a message from {sender}',
  'recall.otherFrom': '{name} recalled a message from {sender}',
  'recall.yours': '{name} recalled your message',
  'recall.reedit': 'Re-edit',
  'recall.reeditLabel': 'Put the recalled text back in the message box',
  'recall.title': 'Recall this message?',
  'recall.text': 'It will be removed for everyone.',
  'recall.confirm': 'Recall',
  'recall.busy': 'Recalling…',

  'deleteMsg.title': 'Delete this message for you?',
  'deleteMsg.text': 'It is removed from this device only: the others in the conversation still see it.',
  'deleteMsg.textUnsent': 'This message was not sent: it is discarded from this device.',
  'deleteMsg.confirm': 'Delete',
  'deleteMsg.busy': 'Deleting…',

  'composer.label': 'Message',
  'composer.placeholder': 'Write a message…',
  'composer.send': 'Send',
  'composer.count': '{count} / {max}',
  'composer.tooLong': 'The message is too long ({count} of {max} characters)',
  'composer.replyingTo': 'Replying to {name}',
  'composer.editing': 'Editing',
  'composer.cancelReply': 'Cancel the reply',
  'composer.cancelEdit': 'Cancel editing',
  'composer.save': 'Save',
  'composer.editEmpty': 'A message cannot be empty: to remove it, recall it instead.',

  'typing.one': '{name} is typing…',
  'typing.two': '{a} and {b} are typing…',
  'typing.many': '{n} people are typing…',

  'banner.connecting': 'Connecting…',
  'banner.offline': 'Offline — messages will be sent when you reconnect',
  'banner.reconnecting': 'Reconnecting in {s} s (attempt {n})…',
  'banner.failed': 'Something went wrong inside the app. Restart it; unsent messages are kept.',
  'banner.reconnectingNow': 'Reconnecting (attempt {n})…',

  'newChat.title': 'New chat',
  'newChat.close': 'Close',
  'newChat.direct': 'Message someone',
  'newChat.username': 'Username',
  'newChat.usernamePlaceholder': 'Their username',
  'newChat.start': 'Start chat',
  'newChat.group': 'Group chat',
  'newChat.groupTitle': 'Group name',
  'newChat.add': 'Add to group',
  'newChat.members': 'Members',
  'newChat.noMembers': 'Add people by username with “Add to group”.',
  'newChat.remove': 'Remove {name}',
  'newChat.createGroup': 'Create group',
  'newChat.notFound': 'No user named “{username}”.',
  'newChat.enterUsername': 'Enter a username.',
  'newChat.isYou': 'That is you.',
  'newChat.alreadyAdded': '{name} is already in the list.',
  'newChat.needMembers': 'A group needs at least 2 other members (with one it would be a 1:1 chat).',
  'newChat.groupHint': 'Add at least 2 people to create a group ({n} more). For one person, use “Start chat”.',
  'newChat.needTitle': 'Give the group a name.',
  'newChat.blocked': 'You cannot start a chat with {name}: one of you has blocked the other.',
  'newChat.blockedGroup': 'Someone in the list cannot be added: one of you has blocked the other.',

  'groupInfo.open': 'Group info',
  'groupInfo.title': 'Group info',
  'groupInfo.close': 'Close',
  'groupInfo.name': 'Group name',
  'groupInfo.namePlaceholder': 'No name: the members’ names are shown',
  'groupInfo.nameHint': 'Any member can change it. At most {max} characters; empty shows the members’ names.',
  'groupInfo.remark': 'Remark',
  'groupInfo.remarkPlaceholder': 'A note about the group',
  'groupInfo.remarkHint': 'Every member sees it and can change it. At most {max} characters.',
  'groupInfo.save': 'Save',
  'groupInfo.saving': 'Saving…',
  'groupInfo.cancel': 'Cancel',
  'groupInfo.saved': 'Saved.',
  'groupInfo.tooLong': 'That is {length} characters; at most {max} are allowed.',
  'groupInfo.members': 'Members ({n})',
  'groupInfo.manager': 'Manager',
  'groupInfo.you': 'You',
  'groupInfo.loading': 'Loading the members…',
  'groupInfo.loadFailed': 'The members could not be loaded.',
  'groupInfo.retry': 'Try again',
  'groupInfo.remove': 'Remove',
  'groupInfo.removeLabel': 'Remove {name} from the group',
  'groupInfo.removeTitle': 'Remove {name} from the group?',
  'groupInfo.removeText': 'They will stop getting the group’s messages. You can add them back later.',
  'groupInfo.removeConfirm': 'Remove',
  'groupInfo.removeBusy': 'Removing…',
  'groupInfo.removed': '{name} was removed from the group.',
  'groupInfo.add': 'Add members',
  'groupInfo.addPlaceholder': 'Usernames, separated by spaces or commas',
  'groupInfo.addSubmit': 'Add',
  'groupInfo.adding': 'Adding…',
  'groupInfo.enterUsernames': 'Enter one or more usernames.',
  'groupInfo.added': 'Added {names}.',
  'groupInfo.alreadyMembers': 'Already in the group: {names}.',
  'groupInfo.unknownUser': 'No user named “{username}”.',
  'groupInfo.blocked': 'Someone in the list cannot be added: one of you has blocked the other.',
  'groupInfo.nobodyAdded': 'Nobody was added.',
  'groupInfo.partlyAdded': 'Added: {added}. Not added: {missing}.',
  'groupInfo.listSeparator': ', ',
  'groupInfo.onlyManager': 'Only the group’s manager can add or remove members.',
  'groupInfo.leave': 'Leave group',

  'error.generic': 'Something went wrong.',
  'error.unexpected': 'Something went wrong: {detail}',
  'error.dismiss': 'Dismiss',
  'error.notifications': 'Notifications',
  'error.paneFailed': 'This part of the window could not be shown.',
  'error.retry': 'Retry',
} as const;

export type MessageKey = keyof typeof en;
type Dict = Record<MessageKey, string>;

const zh: Dict = {
  'app.name': 'Gtedx IM',
  'app.loading': '正在加载…',

  'auth.signInTitle': '登录 Gtedx IM',
  'auth.signUpTitle': '注册 Gtedx IM 账号',
  'auth.formLabel': '账号',
  'auth.serverUrl': '服务器',
  'auth.username': '用户名',
  'auth.password': '密码',
  'auth.displayName': '昵称',
  'auth.signIn': '登录',
  'auth.signUp': '注册',
  'auth.signingIn': '正在登录…',
  'auth.signingUp': '正在注册…',
  'auth.toSignUp': '还没有账号？注册',
  'auth.toSignIn': '已有账号？登录',
  'auth.usernameHint': '3–32 个字符：a–z、0–9、_ . -',
  'auth.passwordHint': '8–256 字节：字母或数字占 1 字节，汉字占 3 字节',
  'auth.keyringTitle': '系统密钥环缺失或已锁定',
  'auth.keyringHelp':
    'Gtedx IM 只把登录信息保存在系统密钥环（Secret Service，例如 gnome-keyring 或 KWallet）中，绝不写入普通文件。系统密钥环未安装或未解锁，因此你的凭据没有被保存。请解锁或安装密钥环后重试。',
  'auth.signedOut': '你已退出登录：{reason}',
  'auth.signedOutNoReason': '你已退出登录。',
  'auth.serverSecure': '安全连接（TLS）',
  'auth.serverLocal': '未加密：仅适用于本机上的服务器',
  'auth.serverInsecure': '未加密',
  'auth.insecureTitle': '此连接未加密',
  'auth.insecureText':
    '你的消息和密码将以未加密的方式在网络上传输，网络中的其他人可能看到它们。如有可能，请向服务器管理员索取安全地址（以 https:// 或 wss:// 开头）。',
  'auth.allowInsecure': '仍然不加密连接',
  'auth.insecureConfirm': '要连接这个服务器，请先勾选“仍然不加密连接”，或改用安全地址。',
  'auth.inviteCode': '邀请码',
  'auth.inviteHint': '在这个服务器上注册需要邀请码。请向服务器管理员索取。',
  'auth.inviteMissing': '请输入邀请码。',
  'auth.signUpClosed': '这个服务器不开放注册。请向服务器管理员申请账号。',

  'main.me': '当前账号：{name}',
  'main.signOut': '退出登录',
  'main.blockedUsers': '已屏蔽的用户',
  'main.settings': '设置',
  'main.settingsShortcut': '设置（Ctrl+,）',
  'main.newChat': '发起聊天',
  'main.conversations': '会话',
  'main.noConversations': '还没有会话。点击“发起聊天”开始吧。',
  'main.pickConversation': '选择一个会话开始聊天',
  'main.chat': '聊天',

  'switcher.title': '转到会话',
  'switcher.open': '搜索',
  'switcher.openLabel': '搜索会话和用户（{shortcut}）',
  'switcher.label': '会话或 @用户名',
  'switcher.placeholder': '查找会话，或输入 @用户名',
  'switcher.results': '会话和用户',
  'switcher.count': '{n} 个结果',
  'switcher.none': '没有匹配的会话。',
  'switcher.searching': '正在查找 {name}…',
  'switcher.startChat': '与 {name} 开始聊天',
  'switcher.hint': '↑↓ 移动，Enter 打开，Esc 关闭',

  'search.open': '搜索消息',
  'search.openLabel': '搜索消息（{shortcut}）',
  'search.title': '消息搜索',
  'search.label': '搜索消息',
  'search.placeholder': '搜索消息',
  'search.close': '关闭搜索',
  'search.hint': '仅搜索本设备上的消息',
  'search.keys': '↑↓ 移动，Enter 打开，Esc 关闭',
  'search.searching': '正在搜索…',
  'search.none': '没有包含“{query}”的消息',
  'search.count': '找到 {n} 条消息',
  'search.limited': '仅显示最新的 {n} 条。多输入一个词可以缩小范围。',
  'search.results': '搜索结果',
  'search.group': '{title}：{n} 条',
  'search.you': '我',
  'search.untitled': '未命名会话',
  'search.failed': '搜索失败。',
  'search.retry': '重试',
  'search.notReached': '在会话记录中找不到这条消息。',
  'search.conversationGone': '该会话已不在你的会话列表中。',

  'signOut.title': '退出 Gtedx IM 登录？',
  'signOut.text': '之后可以随时用用户名和密码重新登录。',
  'signOut.offline': '当前处于离线状态：应用连上服务器后会立即通知服务器。',
  'signOut.forgetData': '同时从这台电脑上删除此账号的消息',
  'signOut.cancel': '取消',
  'signOut.confirm': '退出登录',
  'signOut.busy': '正在退出…',

  'identity.similar': '另一位联系人的名字与此相似',
  'identity.similarTo': '另一位联系人的名字与此相似：{names}。请核对用户名。',
  'identity.username': '用户名：{username}',

  'list.you': '我：{text}',
  'list.sender': '{name}：{text}',
  'list.noMessages': '暂无消息',
  'list.unread': '{n} 条未读',
  'list.failed': '发送失败',
  'list.muted': '已静音',
  'list.mentioned': '[有人@我]',
  'list.mentionedLabel': '有人@了你',

  'chat.members': '{n} 位成员',
  'chat.messages': '消息',
  'chat.loadingOlder': '正在加载更早的消息…',
  'chat.beginning': '会话从这里开始',
  'chat.empty': '这里还没有消息，打个招呼吧！',
  'chat.today': '今天',
  'chat.yesterday': '昨天',
  'chat.toBottom': '跳到最新消息',
  'chat.back': '返回会话列表',
  'chat.toBottomNew': '跳到最新消息（{n} 条新消息）',
  'chat.newMessages': '新消息',
  'chat.menu': '会话操作',
  'chat.mute': '消息免打扰',
  'chat.unmute': '关闭免打扰',
  'chat.muted': '已静音：不发送通知',
  'chat.leave': '退出群聊',
  'chat.block': '屏蔽 {name}',
  'chat.unblock': '取消屏蔽 {name}',

  'dialog.cancel': '取消',

  'leave.title': '退出“{title}”？',
  'leave.titleUntitled': '退出这个群聊？',
  'leave.text': '退出后你将不再收到该群的消息，它也会从会话列表中消失。只有群主可以把你重新加入。',
  'leave.confirm': '退出群聊',
  'leave.busy': '正在退出…',

  'block.title': '屏蔽 {name}？',
  'block.text': '{name} 将无法给你发消息，也无法把你加入群聊。在取消屏蔽之前，你也无法给对方发消息。',
  'block.where': '你可以随时取消屏蔽（“退出登录”旁边的“已屏蔽的用户”）。',
  'block.confirm': '屏蔽',
  'block.busy': '正在屏蔽…',
  'block.banner': '你已屏蔽 {name}。',
  'block.unblock': '取消屏蔽',
  'block.unblockLabel': '取消屏蔽 {name}',
  'block.notAccepting': '{name} 不接收你的消息。',
  'block.youBlocked': '未发送：你已屏蔽 {name}。',

  'blocked.title': '已屏蔽的用户',
  'blocked.text': '被你屏蔽的人无法给你发消息，也无法把你加入群聊。',
  'blocked.empty': '你还没有屏蔽任何人。',
  'blocked.loading': '正在加载…',
  'blocked.failed': '无法加载列表。',
  'blocked.retry': '重试',
  'blocked.close': '关闭',
  'blocked.unknown': '未知用户',

  'settings.title': '设置',
  'settings.close': '关闭',
  'settings.account': '账号',
  'settings.displayName': '昵称',
  'settings.username': '用户名',
  'settings.server': '服务器',
  'settings.notifications': '通知',
  'settings.notificationText': '在通知中显示消息内容',
  'settings.notificationTextHint': '关闭后，通知只显示是谁发来的消息，不显示内容。',
  'settings.password': '密码',
  'settings.passwordText': '修改密码后，你的其他设备都会退出登录，这台设备保持登录。',
  'settings.currentPassword': '当前密码',
  'settings.newPassword': '新密码',
  'settings.repeatPassword': '再次输入新密码',
  'settings.newPasswordHint': '8–256 字节：字母或数字占 1 字节，汉字占 3 字节',
  'settings.currentMissing': '请输入当前密码。',
  'settings.passwordTooShort': '新密码至少需要 8 字节（字母或数字占 1 字节，汉字占 3 字节）。',
  'settings.passwordTooLong': '新密码过长：最多 256 字节（字母或数字占 1 字节，汉字占 3 字节）。',
  'settings.passwordMismatch': '两次输入的新密码不一致。',
  'settings.changePassword': '修改密码',
  'settings.changingPassword': '正在修改密码…',
  'settings.passwordChanged': '密码已修改。你的其他设备已退出登录。',
  'settings.devices': '设备',
  'settings.devicesText': '你的账号在这些设备上登录。不再使用或不认识的设备，请让它退出登录。',
  'settings.devicesLoading': '正在加载设备…',
  'settings.devicesFailed': '无法加载你的设备。',
  'settings.retry': '重试',
  'settings.unknownDevice': '未知设备',
  'settings.thisDevice': '本机',
  'settings.signedInAt': '登录于 {date}',
  'settings.signOutDevice': '退出登录',
  'settings.signOutDeviceLabel': '让“{device}”退出登录',
  'settings.noOtherDevices': '你的账号没有在其他设备上登录。',
  'settings.revokeFailed': '无法让“{device}”退出登录。{reason}',
  'settings.appearance': '外观',
  'settings.theme': '主题',
  'settings.themeSystem': '跟随系统',
  'settings.themeLight': '浅色',
  'settings.themeDark': '深色',
  'settings.language': '语言',
  'settings.languageSystem': '跟随系统（{language}）',
  'settings.languageHint': '窗口会重新加载以显示新的语言。',
  'settings.desktop': '桌面',
  'settings.closeToTray': '关闭窗口时最小化到托盘',
  'settings.closeToTrayHint': '关闭窗口后，Gtedx IM 会在托盘中继续运行；按 Ctrl+Q 退出。',
  'settings.noTray': '此桌面环境没有系统托盘，因此关闭窗口会退出 Gtedx IM。',
  'settings.startAtLogin': '开机时启动 Gtedx IM',
  'settings.startAtLoginFailed': '无法更改 Gtedx IM 的开机启动设置。{detail}',
  'settings.hardwareAcceleration': '使用硬件加速',
  'settings.hardwareAccelerationHint': '关闭时占用内存更少，也能避免某些显卡驱动下窗口空白。重启后生效。',
  'settings.restartToApply': '重启 Gtedx IM 以应用此设置。',
  'settings.restartNow': '立即重启',
  'settings.restarting': '正在重启…',
  'settings.desktopLoading': '正在加载…',
  'settings.desktopFailed': '无法加载这些设置。',
  'settings.pause': '暂停通知',
  'settings.pauseHint': '暂停期间，这台电脑不显示通知。也可以在托盘菜单中暂停。',
  'settings.pauseHour': '暂停 1 小时',
  'settings.pauseTomorrow': '直到明天',
  'settings.pausedUntil': '通知已暂停至 {time}',
  'settings.resume': '恢复',
  'settings.storage': '存储',
  'settings.cacheUsage': '这台电脑上的消息：{size}（{n} 条消息）',
  'settings.cacheUsageOne': '这台电脑上的消息：{size}（1 条消息）',
  'settings.cacheLoading': '正在加载…',
  'settings.cacheFailed': '无法读取这台电脑上保存的消息的大小。',
  'settings.cacheHint': '聊天记录保存在服务器上：清除缓存只会释放这台电脑上的空间。',
  'settings.cacheClear': '清除缓存…',
  'settings.about': '关于',
  'settings.version': '版本 {version}',
  'settings.updateAuto': '自动检查更新',
  'settings.updateAutoHint': '在 Gtedx IM 启动时检查，之后每天检查一次。',
  'settings.updateCheck': '检查更新',
  'settings.updateChecking': '正在检查更新…',
  'settings.updateUpToDate': '已是最新版本',
  'settings.updateUpToDateAt': '已是最新版本（检查于 {time}）',
  'settings.updateDownloading': '正在下载版本 {version}… {percent}%',
  'settings.updateDownloadingBytes': '正在下载版本 {version}… 已下载 {size}',
  'settings.updateReady': '版本 {version} 已准备就绪',
  'settings.updateInstalling': '正在安装版本 {version}…',
  'settings.updateNotes': '{version} 的新内容',

  'update.ready': 'Gtedx IM {version} 已准备就绪',
  'update.restart': '重启以更新',
  'update.restarting': '正在重启…',
  'update.later': '稍后',

  'clearCache.title': '清除保存在这台电脑上的消息？',
  'clearCache.text': '聊天记录仍保存在服务器上，打开聊天时会重新加载。尚未发送的消息会保留。',
  'clearCache.confirm': '清除缓存',
  'clearCache.busy': '正在清除…',

  'revokeSession.title': '让“{device}”退出登录？',
  'revokeSession.text': '该设备会立即退出你的账号。要在那里重新登录，需要输入你的密码。',
  'revokeSession.hint': '如果你怀疑别人知道你的密码，请同时修改密码。',
  'revokeSession.confirm': '退出登录',
  'revokeSession.busy': '正在退出…',

  'added.text': '{who} 把你加入了{title}',
  'added.titled': '“{title}”',
  'added.untitled': '一个群聊',
  'added.mute': '免打扰',
  'added.unmute': '关闭免打扰',
  'added.leave': '退出',
  'added.dismiss': '关闭',
  'added.region': '群聊邀请',

  'msg.sending': '发送中',
  'msg.sent': '已发送',
  'msg.read': '已读',
  'msg.failed': '发送失败',
  'msg.retry': '重试',
  'msg.retryLabel': '重新发送这条消息',
  'msg.actions': '消息操作',
  'msg.reply': '回复',
  'msg.copy': '复制文字',
  'msg.edit': '编辑',
  'msg.recall': '撤回',
  'msg.delete': '为我删除',
  'msg.copied': '已复制',
  'msg.copyFailed': '无法复制文字。',
  'msg.edited': '已编辑',
  'msg.editedAt': '编辑于 {time}',
  'msg.quoteLabel': '转到被回复的消息：{name}：{text}',
  'msg.quoteRecalled': '消息已撤回',
  'msg.quoteUnknown': '原消息',
  'msg.unsupported': '当前版本的 Gtedx IM 无法显示此消息，请更新应用后查看',
  'msg.mentionsMe': '有人@了你',

  'reaction.quick': '表情回应',
  'reaction.react': '用 {emoji} 回应',
  'reaction.bar': '表情回应',
  'reaction.label': '{emoji} {count}：{names}',
  'reaction.more': '{names} 及另外 {n} 人',
  'reaction.separator': '、',

  'mention.picker': '选择要 @ 的人',
  'mention.all': '所有人',
  'mention.allToken': '所有人',
  'mention.allHint': '提醒群里的每一位成员',

  'recall.you': '你撤回了一条消息',
  'recall.other': '{name} 撤回了一条消息',
  'recall.youFrom': '你撤回了 {sender} 的一条消息',
  'recall.otherFrom': '{name} 撤回了 {sender} 的一条消息',
  'recall.yours': '{name} 撤回了你的一条消息',
  'recall.reedit': '重新编辑',
  'recall.reeditLabel': '把撤回的文字放回输入框',
  'recall.title': '撤回这条消息？',
  'recall.text': '撤回后，所有人都将看不到这条消息。',
  'recall.confirm': '撤回',
  'recall.busy': '正在撤回…',

  'deleteMsg.title': '为你删除这条消息？',
  'deleteMsg.text': '只会从这台设备上删除：会话中的其他人仍能看到它。',
  'deleteMsg.textUnsent': '这条消息没有发出：它将从这台设备上丢弃。',
  'deleteMsg.confirm': '删除',
  'deleteMsg.busy': '正在删除…',

  'composer.label': '消息',
  'composer.placeholder': '输入消息…',
  'composer.send': '发送',
  'composer.count': '{count} / {max}',
  'composer.tooLong': '消息过长（{count} / {max} 个字符）',
  'composer.replyingTo': '回复 {name}',
  'composer.editing': '编辑消息',
  'composer.cancelReply': '取消回复',
  'composer.cancelEdit': '取消编辑',
  'composer.save': '保存',
  'composer.editEmpty': '消息不能为空：如要去掉它，请撤回。',

  'typing.one': '{name} 正在输入…',
  'typing.two': '{a} 和 {b} 正在输入…',
  'typing.many': '{n} 人正在输入…',

  'banner.connecting': '正在连接…',
  'banner.offline': '已离线 — 重新连接后将自动发送消息',
  'banner.reconnecting': '{s} 秒后重新连接（第 {n} 次尝试）…',
  'banner.failed': '应用内部出错。请重新启动应用；未发送的消息会保留。',
  'banner.reconnectingNow': '正在重新连接（第 {n} 次尝试）…',

  'newChat.title': '发起聊天',
  'newChat.close': '关闭',
  'newChat.direct': '单聊',
  'newChat.username': '用户名',
  'newChat.usernamePlaceholder': '对方的用户名',
  'newChat.start': '开始聊天',
  'newChat.group': '群聊',
  'newChat.groupTitle': '群名称',
  'newChat.add': '加入群成员',
  'newChat.members': '成员',
  'newChat.noMembers': '输入用户名后点击“加入群成员”。',
  'newChat.remove': '移除 {name}',
  'newChat.createGroup': '创建群聊',
  'newChat.notFound': '找不到用户“{username}”。',
  'newChat.enterUsername': '请输入用户名。',
  'newChat.isYou': '这是你自己。',
  'newChat.alreadyAdded': '{name} 已在列表中。',
  'newChat.needMembers': '群聊至少需要另外 2 位成员（只有一位时就是单聊）。',
  'newChat.groupHint': '至少添加 2 人才能创建群聊（还需 {n} 人）。只和一个人聊天请用“开始聊天”。',
  'newChat.needTitle': '请填写群名称。',
  'newChat.blocked': '无法与 {name} 开始聊天：你们中有一方屏蔽了另一方。',
  'newChat.blockedGroup': '列表中有人无法被加入：你们中有一方屏蔽了另一方。',

  'groupInfo.open': '群资料',
  'groupInfo.title': '群资料',
  'groupInfo.close': '关闭',
  'groupInfo.name': '群名称',
  'groupInfo.namePlaceholder': '未命名：显示成员的名字',
  'groupInfo.nameHint': '任何成员都可以修改。最多 {max} 个字符；留空则显示成员的名字。',
  'groupInfo.remark': '备注',
  'groupInfo.remarkPlaceholder': '关于这个群的备注',
  'groupInfo.remarkHint': '所有成员都能看到，也都可以修改。最多 {max} 个字符。',
  'groupInfo.save': '保存',
  'groupInfo.saving': '正在保存…',
  'groupInfo.cancel': '取消',
  'groupInfo.saved': '已保存。',
  'groupInfo.tooLong': '当前 {length} 个字符，最多只能 {max} 个。',
  'groupInfo.members': '成员（{n}）',
  'groupInfo.manager': '群主',
  'groupInfo.you': '你',
  'groupInfo.loading': '正在加载成员…',
  'groupInfo.loadFailed': '无法加载成员。',
  'groupInfo.retry': '重试',
  'groupInfo.remove': '移出',
  'groupInfo.removeLabel': '将 {name} 移出群聊',
  'groupInfo.removeTitle': '将 {name} 移出群聊？',
  'groupInfo.removeText': '对方将不再收到该群的消息。之后你可以再把对方加回来。',
  'groupInfo.removeConfirm': '移出群聊',
  'groupInfo.removeBusy': '正在移出…',
  'groupInfo.removed': '已将 {name} 移出群聊。',
  'groupInfo.add': '添加成员',
  'groupInfo.addPlaceholder': '用户名，用空格或逗号分隔',
  'groupInfo.addSubmit': '添加',
  'groupInfo.adding': '正在添加…',
  'groupInfo.enterUsernames': '请输入一个或多个用户名。',
  'groupInfo.added': '已添加 {names}。',
  'groupInfo.alreadyMembers': '已在群里：{names}。',
  'groupInfo.unknownUser': '找不到用户名为“{username}”的用户。',
  'groupInfo.blocked': '列表中有人无法加入：你们中有一方屏蔽了另一方。',
  'groupInfo.nobodyAdded': '没有添加任何人。',
  'groupInfo.partlyAdded': '已添加：{added}。未添加：{missing}。',
  'groupInfo.listSeparator': '、',
  'groupInfo.onlyManager': '只有群主可以添加或移出成员。',
  'groupInfo.leave': '退出群聊',

  'error.generic': '出错了。',
  'error.unexpected': '出错了：{detail}',
  'error.dismiss': '关闭',
  'error.notifications': '通知',
  'error.paneFailed': '这部分内容无法显示。',
  'error.retry': '重试',
};


/**
 * The errors of reaching the server (the address, its certificate, the connection): the backend's
 * message for them (technical: what exactly failed) is shown as a detail under the UI's wording.
 */
export const CONNECTION_ERROR_CODES = [
  'invalid_server_address',
  'insecure_server',
  'connect_failed',
  'tls_untrusted',
  'tls_expired',
  'tls_wrong_host',
  'tls_revoked',
  'tls_failed',
] as const;
export type ConnectionErrorCode = (typeof CONNECTION_ERROR_CODES)[number];

function isConnectionErrorCode(code: string): code is ConnectionErrorCode {
  return (CONNECTION_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * change_password's errors, which mean something else there than at sign-in (`wrong_credentials`
 * is about the current password only) and get the UI's own wording.
 */
export const CHANGE_PASSWORD_ERROR_CODES = ['wrong_credentials', 'invalid_password', 'rate_limited'] as const;
export type ChangePasswordErrorCode = (typeof CHANGE_PASSWORD_ERROR_CODES)[number];

const changePasswordErrors: Record<Locale, Record<ChangePasswordErrorCode, string>> = {
  en: {
    wrong_credentials: 'The current password is wrong.',
    invalid_password: 'The new password must be 8 to 256 bytes long (a letter or digit is 1 byte, a Chinese character 3).',
    rate_limited: 'Too many wrong passwords. Wait a while, then try again.',
  },
  'zh-CN': {
    wrong_credentials: '当前密码不正确。',
    invalid_password: '新密码长度须为 8–256 字节（字母或数字占 1 字节，汉字占 3 字节）。',
    rate_limited: '密码错误次数过多，请稍后再试。',
  },
};

function isChangePasswordErrorCode(code: string): code is ChangePasswordErrorCode {
  return (CHANGE_PASSWORD_ERROR_CODES as readonly string[]).includes(code);
}

const dicts: Record<Locale, Dict> = { en, 'zh-CN': zh };

/** All the UI's texts in one language (for tests: every key is there in both). */
export function dictionary(locale: Locale): Readonly<Dict> {
  return dicts[locale];
}

/** zh, zh-CN, zh-Hans, zh-TW… -> Chinese; anything else (or nothing) -> English. */
export function pickLocale(languages: readonly (string | undefined | null)[]): Locale {
  const first = languages.find((l) => !!l);
  return first && /^zh([-_]|$)/i.test(first) ? 'zh-CN' : 'en';
}

export type Params = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: Params) => string;

export function format(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export function createTranslator(locale: Locale): Translate {
  const dict = dicts[locale];
  return (key, params) => format(dict[key] ?? en[key] ?? key, params);
}

/**
 * Text for a backend error: the UI's sentence for its code (every code the backend can send has
 * one in both languages: ./errorTexts.ts); for a code it does not know, the backend's message made
 * a sentence; "Something went wrong." when there is none.
 */
export function errorText(locale: Locale, err: { code: string; message: string }): string {
  if (isKnownErrorCode(err.code)) return errorMessages[locale][err.code];
  return asSentence(err.message) || createTranslator(locale)('error.generic');
}

/** A message as a sentence: trimmed, the first letter capitalised, a full stop unless it ends with one. */
export function asSentence(message: string): string {
  const text = message.trim();
  if (!text) return '';
  const [first, ...rest] = [...text];
  const ended = /[.!?。！？…]$/u.test(text);
  return first.toUpperCase() + rest.join('') + (ended ? '' : '.');
}

/** Each language's name in itself (the language menu shows them so). */
export const LANGUAGE_NAMES: Readonly<Record<Locale, string>> = { en: 'English', 'zh-CN': '中文' };

/** The locale of a language choice: the one chosen, or for `system` what `languages` ask for. */
export function localeFor(language: Language, languages: readonly (string | undefined | null)[]): Locale {
  return language === 'system' ? pickLocale(languages) : language;
}

function systemLanguages(): (string | undefined)[] {
  if (typeof navigator === 'undefined') return [];
  return [navigator.language, ...(navigator.languages ?? [])];
}

/** The locale the system asks for (what "System" means in the language menu). */
export const systemLocale: Locale = pickLocale(systemLanguages());

/** The app's locale, chosen once at start: the saved choice, else the system's. */
export const locale: Locale = localeFor(readPreferences().language, systemLanguages());
export const t: Translate = createTranslator(locale);

/**
 * The backend's own message under the UI's wording of a connection error (what exactly failed,
 * for whoever helps), when it says something; otherwise null.
 */
export function errorDetail(err: { code: string; message: string }): string | null {
  return isConnectionErrorCode(err.code) && err.message.trim() ? asSentence(err.message) : null;
}

export type AuthErrorView = { title: string | null; help: string | null; text: string; detail?: string };

/**
 * What the sign-in screen shows for an error. `keyring_unavailable` (from restore_session,
 * sign_in or sign_up) gets a heading and an explanation in the UI's language, plus the backend's
 * message as the detail; other errors are one line, and a connection error (server address,
 * certificate) also the backend's message as a `detail`.
 */
export function authErrorView(locale: Locale, err: { code: string; message: string }): AuthErrorView {
  if (err.code === 'keyring_unavailable') {
    const tr = createTranslator(locale);
    return { title: tr('auth.keyringTitle'), help: tr('auth.keyringHelp'), text: err.message };
  }
  const detail = errorDetail(err);
  return detail
    ? { title: null, help: null, text: errorText(locale, err), detail }
    : { title: null, help: null, text: errorText(locale, err) };
}

export type ChangePasswordErrorView = { text: string; detail?: string };

/**
 * What the password form shows for a change_password error: the UI's wording of
 * `wrong_credentials` ("The current password is wrong"), `invalid_password` and `rate_limited`
 * (with the backend's message, which says when to try again, as the detail); other errors as
 * `errorText` words them.
 */
export function changePasswordErrorView(locale: Locale, err: { code: string; message: string }): ChangePasswordErrorView {
  if (!isChangePasswordErrorCode(err.code)) return { text: errorText(locale, err) };
  const text = changePasswordErrors[locale][err.code];
  const detail = err.code === 'rate_limited' ? asSentence(err.message) : '';
  return detail ? { text, detail } : { text };
}
