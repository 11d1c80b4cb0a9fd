using Microsoft.Data.Sqlite;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.BrokerState.Store;

/// <summary>Retained messages and persistent sessions in the embedded database (its own tables).</summary>
internal sealed class SqliteBrokerStateStore : IBrokerStateStore
{
    private readonly SqliteDatabase _database;

    public SqliteBrokerStateStore(SqliteDatabase database)
    {
        _database = database;
        database.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS mqtt_retained (
                topic TEXT PRIMARY KEY, qos INTEGER NOT NULL, payload BLOB NOT NULL, properties BLOB, stored_ms INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS mqtt_sessions (
                client_id TEXT PRIMARY KEY, expiry_seconds INTEGER NOT NULL, disconnected_ms INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS mqtt_subscriptions (
                client_id TEXT NOT NULL, filter TEXT NOT NULL, options INTEGER NOT NULL, PRIMARY KEY (client_id, filter)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS mqtt_queued (
                client_id TEXT NOT NULL, queue_id INTEGER NOT NULL, topic TEXT NOT NULL, qos INTEGER NOT NULL, payload BLOB NOT NULL,
                properties BLOB, stored_ms INTEGER NOT NULL, PRIMARY KEY (client_id, queue_id)) WITHOUT ROWID;
            """);
    }

    public async Task<BrokerStateSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var retained = new List<StoredMqttMessage>();
        await using (var command = connection.Command("SELECT topic, qos, payload, properties, stored_ms FROM mqtt_retained ORDER BY topic"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                retained.Add(ReadMessage(reader, 0));
            }
        }

        var sessions = new List<StoredSession>();
        await using (var command = connection.Command("SELECT client_id, expiry_seconds, disconnected_ms FROM mqtt_sessions ORDER BY client_id"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                sessions.Add(new StoredSession(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        var subscriptions = new List<StoredSubscription>();
        await using (var command = connection.Command("SELECT client_id, filter, options FROM mqtt_subscriptions ORDER BY client_id, filter"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                subscriptions.Add(new StoredSubscription(reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
            }
        }

        var queued = new List<QueuedMqttMessage>();
        await using (var command = connection.Command(
            "SELECT client_id, queue_id, topic, qos, payload, properties, stored_ms FROM mqtt_queued ORDER BY client_id, queue_id"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                queued.Add(new QueuedMqttMessage(reader.GetString(0), reader.GetInt64(1), ReadMessage(reader, 2)));
            }
        }

        return new BrokerStateSnapshot(retained, sessions, subscriptions, queued);
    }

    public Task ApplyAsync(IReadOnlyList<BrokerStateChange> changes, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            foreach (var change in changes)
            {
                using var command = Command(connection, transaction, change);
                command.ExecuteNonQuery();
            }

            return 0;
        }, cancellationToken);

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, BrokerStateChange change) => change switch
    {
        BrokerStateChange.RetainedSet { Message: var m } => connection.Command(
            "INSERT OR REPLACE INTO mqtt_retained (topic, qos, payload, properties, stored_ms) VALUES ($t, $q, $p, $x, $s)", transaction,
            ("$t", m.Topic), ("$q", m.Qos), ("$p", m.Payload), ("$x", m.Properties), ("$s", m.StoredAtMs)),
        BrokerStateChange.RetainedDeleted { Topic: var topic } => connection.Command("DELETE FROM mqtt_retained WHERE topic = $t", transaction, ("$t", topic)),
        BrokerStateChange.RetainedCleared => connection.Command("DELETE FROM mqtt_retained", transaction),
        BrokerStateChange.SessionSaved { Session: var s } => connection.Command(
            "INSERT OR REPLACE INTO mqtt_sessions (client_id, expiry_seconds, disconnected_ms) VALUES ($c, $e, $d)", transaction,
            ("$c", s.ClientId), ("$e", s.ExpirySeconds), ("$d", s.DisconnectedAtMs)),
        BrokerStateChange.SessionDeleted { ClientId: var c } => connection.Command("""
            DELETE FROM mqtt_sessions WHERE client_id = $c;
            DELETE FROM mqtt_subscriptions WHERE client_id = $c;
            DELETE FROM mqtt_queued WHERE client_id = $c;
            """, transaction, ("$c", c)),
        BrokerStateChange.SubscriptionSaved { Subscription: var s } => connection.Command(
            "INSERT OR REPLACE INTO mqtt_subscriptions (client_id, filter, options) VALUES ($c, $f, $o)", transaction,
            ("$c", s.ClientId), ("$f", s.Filter), ("$o", s.Options)),
        BrokerStateChange.SubscriptionDeleted d => connection.Command(
            "DELETE FROM mqtt_subscriptions WHERE client_id = $c AND filter = $f", transaction, ("$c", d.ClientId), ("$f", d.Filter)),
        BrokerStateChange.MessageQueued { Queued: var q } => connection.Command(
            "INSERT OR REPLACE INTO mqtt_queued (client_id, queue_id, topic, qos, payload, properties, stored_ms) VALUES ($c, $i, $t, $q, $p, $x, $s)", transaction,
            ("$c", q.ClientId), ("$i", q.QueueId), ("$t", q.Message.Topic), ("$q", q.Message.Qos), ("$p", q.Message.Payload),
            ("$x", q.Message.Properties), ("$s", q.Message.StoredAtMs)),
        BrokerStateChange.QueuedMessageDeleted d => connection.Command(
            "DELETE FROM mqtt_queued WHERE client_id = $c AND queue_id = $i", transaction, ("$c", d.ClientId), ("$i", d.QueueId)),
        _ => throw new ArgumentOutOfRangeException(nameof(change), change, "unknown broker state change"),
    };

    private static StoredMqttMessage ReadMessage(SqliteDataReader reader, int first) => new(
        reader.GetString(first),
        (byte[])reader[first + 2],
        reader.GetInt32(first + 1),
        reader.IsDBNull(first + 3) ? null : (byte[])reader[first + 3],
        reader.GetInt64(first + 4));
}
