using MqttIm.ImExtensions.Cluster;
using MqttIm.Testing;
using StackExchange.Redis;

namespace MqttIm.Storage.ContractTests.Redis;

/// <summary>
/// The cluster's presence board on a private redis-server: each node's field of a user, the announcement that follows
/// every write, and a dead (or leaving) node's fields cleared with an announcement per user.
/// </summary>
public sealed class RedisPresenceBoardTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly ConnectionMultiplexer _connection = ConnectionMultiplexer.Connect(redis.Configuration);
    private readonly RedisKeys _keys = new("t" + Guid.NewGuid().ToString("N")[..8] + ":");
    private ChannelMessageQueue _announcements = null!;

    private RedisPresenceBoard Board => new(_connection, _keys);

    public async Task InitializeAsync() => _announcements = await _connection.GetSubscriber().SubscribeAsync(_keys.PresenceChanges);

    public async Task DisposeAsync()
    {
        await _announcements.UnsubscribeAsync();
        _connection.Dispose();
    }

    private async Task<string> NextAnnouncementAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return (await _announcements.ReadAsync(deadline.Token)).Message.ToString();
    }

    [Fact]
    public async Task Write_SetsTheNodesField_AndAnnouncesTheUser_EmptyRemovesIt()
    {
        await Board.WriteAsync("node-a", "bob", ["bob-phone", "bob tablet"]);
        await Board.WriteAsync("node-b", "bob", ["bob-desk"]);
        Assert.Equal(["bob", "bob"], [await NextAnnouncementAsync(), await NextAnnouncementAsync()]);

        var fields = (await Board.ReadManyAsync(["bob", "nobody"])).Select(f => f.OrderBy(n => n.NodeId, StringComparer.Ordinal).ToList()).ToList();
        Assert.Equal(["node-a", "node-b"], fields[0].Select(f => f.NodeId));
        Assert.Equal(["bob-phone", "bob tablet"], fields[0][0].ClientIds);
        Assert.Equal(["bob-desk"], fields[0][1].ClientIds);
        Assert.Empty(fields[1]);

        await Board.WriteAsync("node-a", "bob", []);
        Assert.Equal("bob", await NextAnnouncementAsync());
        var left = Assert.Single((await Board.ReadManyAsync(["bob"]))[0]);
        Assert.Equal("node-b", left.NodeId);
    }

    [Fact]
    public async Task ClearNode_RemovesEveryFieldOfThatNodeOnly_AndAnnouncesEachUser()
    {
        await Board.WriteAsync("dead", "alice", ["alice-1"]);
        await Board.WriteAsync("dead", "bob", ["bob-1"]);
        await Board.WriteAsync("alive", "bob", ["bob-2"]);
        for (var i = 0; i < 3; i++)
        {
            await NextAnnouncementAsync();
        }

        Assert.Equal(2, await Board.ClearNodeAsync("dead"));

        Assert.Equal(["alice", "bob"], new[] { await NextAnnouncementAsync(), await NextAnnouncementAsync() }.Order(StringComparer.Ordinal));
        var after = await Board.ReadManyAsync(["alice", "bob"]);
        Assert.Empty(after[0]);
        Assert.Equal("alive", Assert.Single(after[1]).NodeId);
        Assert.Equal(0, await Board.ClearNodeAsync("dead")); // nothing left to clear
    }
}
