using MongoDB.Bson;
using MongoDB.Driver;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage.Mongo;

/// <summary>
/// Groups and members in the shared MongoDB database. <c>groups</c>: <c>_id</c> = group id, shard key
/// <c>{ _id: "hashed" }</c>. <c>group_members</c>: unique (group_id, user_id), which also serves the member pages; (user_id)
/// for a user's groups; shard key <c>{ group_id: 1, user_id: 1 }</c> (a large group spreads over chunks by user id).
/// Nothing expires, so no TTL indexes.
/// </summary>
internal sealed class MongoGroupStore(MongoDatabaseHandle handle) : IGroupStore
{
    private const string GroupsCollection = "groups";
    private const string MembersCollection = "group_members";

    private readonly IMongoCollection<BsonDocument> _groups = handle.Collection(GroupsCollection);
    private readonly IMongoCollection<BsonDocument> _members = handle.Collection(MembersCollection);

    public async Task<bool> CreateAsync(GroupRecord group, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _groups.InsertOneAsync(new BsonDocument
            {
                ["_id"] = group.GroupId,
                ["name"] = group.Name,
                ["owner_id"] = group.OwnerId,
                ["all_muted"] = group.AllMuted,
                ["dissolved"] = group.Dissolved,
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (MongoChatCollections.IsDuplicateKey(ex))
        {
            return false;
        }
    }

    public async Task<GroupRecord?> GetAsync(string groupId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var document = await _groups.Find(new BsonDocument("_id", groupId)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return document is null
            ? null
            : new GroupRecord(groupId, document["name"].AsString, document["owner_id"].AsString, document["all_muted"].ToBoolean(), document["dissolved"].ToBoolean());
    }

    public async Task UpdateAsync(GroupRecord group, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        await _groups.UpdateOneAsync(new BsonDocument("_id", group.GroupId), new BsonDocument("$set", new BsonDocument
        {
            ["name"] = group.Name,
            ["owner_id"] = group.OwnerId,
            ["all_muted"] = group.AllMuted,
            ["dissolved"] = group.Dissolved,
        }), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<GroupMember>> GetMembersPageAsync(string groupId, string? afterUserId, int limit, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var documents = await _members.Find(new BsonDocument { ["group_id"] = groupId, ["user_id"] = new BsonDocument("$gt", afterUserId ?? "") })
            .Sort(new BsonDocument("user_id", 1))
            .Limit(limit)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return documents.ConvertAll(ToMember);
    }

    public async Task<IReadOnlyList<string>> GetGroupIdsOfUserAsync(string userId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var documents = await _members.Find(new BsonDocument("user_id", userId))
            .Project(new BsonDocument { ["_id"] = 0, ["group_id"] = 1 })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        // Sorted here: the (user_id) index serves the filter, and a user's groups are few.
        return documents.Select(d => d["group_id"].AsString).Order(StringComparer.Ordinal).ToList();
    }

    public async Task<GroupMember?> GetMemberAsync(string groupId, string userId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var document = await _members.Find(new BsonDocument { ["group_id"] = groupId, ["user_id"] = userId })
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return document is null ? null : ToMember(document);
    }

    public async Task UpsertMembersAsync(string groupId, IReadOnlyCollection<GroupMember> members, CancellationToken cancellationToken)
    {
        if (members.Count == 0)
        {
            return;
        }

        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        // The last entry for a user wins, as a sequence of single upserts would; then one unordered bulk write.
        var latest = new Dictionary<string, GroupMember>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            latest[member.UserId] = member;
        }

        var upserts = latest.Values.Select(member => (WriteModel<BsonDocument>)new UpdateOneModel<BsonDocument>(
            new BsonDocument { ["group_id"] = groupId, ["user_id"] = member.UserId },
            new BsonDocument("$set", new BsonDocument
            {
                ["role"] = (int)member.Role,
                ["joined_seq"] = member.JoinedSeq,
                ["muted_until_ms"] = member.MutedUntilMs,
            }))
        { IsUpsert = true });
        await _members.BulkWriteAsync(upserts, new BulkWriteOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveMembersAsync(string groupId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        if (userIds.Count == 0)
        {
            return;
        }

        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        await _members.DeleteManyAsync(
            new BsonDocument { ["group_id"] = groupId, ["user_id"] = new BsonDocument("$in", new BsonArray(userIds)) },
            cancellationToken).ConfigureAwait(false);
    }

    private static GroupMember ToMember(BsonDocument document) => new()
    {
        UserId = document["user_id"].AsString,
        Role = (GroupRole)document["role"].ToInt32(),
        JoinedSeq = document["joined_seq"].ToInt64(),
        MutedUntilMs = document["muted_until_ms"].ToInt64(),
    };

    private Task EnsureAsync(CancellationToken cancellationToken) =>
        handle.EnsureOnceAsync("im-groups-v1", async database =>
        {
            var keys = Builders<BsonDocument>.IndexKeys;
            await database.GetCollection<BsonDocument>(MembersCollection).Indexes.CreateManyAsync(
            [
                new CreateIndexModel<BsonDocument>(keys.Ascending("group_id").Ascending("user_id"), new CreateIndexOptions { Name = "ux_group_user", Unique = true }),
                new CreateIndexModel<BsonDocument>(keys.Ascending("user_id"), new CreateIndexOptions { Name = "ix_user" }),
            ]).ConfigureAwait(false);
        }, cancellationToken);
}
