namespace MqttIm.ImExtensions.Storage.Postgres;

/// <summary>
/// The tables the PostgreSQL message and conversation stores share: messages, conversation heads and each user's
/// conversation rows. Both stores ensure it, whichever is used first.
/// </summary>
internal static class PostgresChatSchema
{
    public const string Name = "im-chat-v1";

    // Ids are COLLATE "C" (byte order, as the other stores compare them; cheaper too). Every query has an index:
    // (conversation_id, seq) for reads and seq uniqueness, (conversation_id, sender_id, client_msg_id) for dedup
    // (conversation first, so it stays within one conversation like a sharded store would), (user_id, conversation_id)
    // for a user's rows and (conversation_id, user_id) for a conversation's participants.
    public const string Ddl = """
        CREATE TABLE IF NOT EXISTS im_messages (
            conversation_id text COLLATE "C" NOT NULL,
            seq bigint NOT NULL,
            sender_id text COLLATE "C" NOT NULL,
            client_msg_id text COLLATE "C" NOT NULL,
            body bytea NOT NULL,
            PRIMARY KEY (conversation_id, seq));
        CREATE UNIQUE INDEX IF NOT EXISTS ux_im_messages_client_msg
            ON im_messages (conversation_id, sender_id, client_msg_id) WHERE client_msg_id <> '';
        CREATE TABLE IF NOT EXISTS im_conversations (
            conversation_id text COLLATE "C" PRIMARY KEY,
            max_seq bigint NOT NULL,
            last_activity_ms bigint NOT NULL,
            last_message bytea);
        CREATE TABLE IF NOT EXISTS im_user_conversations (
            user_id text COLLATE "C" NOT NULL,
            conversation_id text COLLATE "C" NOT NULL,
            read_seq bigint NOT NULL DEFAULT 0,
            joined_seq bigint NOT NULL DEFAULT 1,
            pinned boolean NOT NULL DEFAULT false,
            muted boolean NOT NULL DEFAULT false,
            PRIMARY KEY (user_id, conversation_id));
        CREATE INDEX IF NOT EXISTS ix_im_user_conversations_conversation ON im_user_conversations (conversation_id, user_id);
        """ + PostgresUnreadTotals.Ddl;
}
