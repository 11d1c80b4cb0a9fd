using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Rooms.Store;

namespace MqttIm.Storage.ContractTests.Rooms;

/// <summary>What every <see cref="IRoomStore"/> (SQLite, PostgreSQL, MongoDB) must do.</summary>
public abstract class RoomStoreContract : IAsyncLifetime
{
    private readonly CancellationToken _ct = CancellationToken.None;

    internal IRoomStore Store { get; private set; } = null!;

    internal abstract Task<IRoomStore> CreateAsync();

    protected abstract Task DisposeStoreAsync();

    public async Task InitializeAsync() => Store = await CreateAsync();

    public Task DisposeAsync() => DisposeStoreAsync();

    private static RoomMessage Gift(long seq, long timeMs, string sender = "alice") =>
        new() { Kind = "gift", Seq = seq, ServerTimeMs = timeMs, SenderId = sender, GiftId = "rose", GiftCount = 1 };

    [Fact]
    public async Task Room_CreateOnce_UpdateAndRead()
    {
        var room = new RoomInfo { RoomId = "r1", Title = "Launch", Public = true, MaxMessagesPerSecond = 40, CreatedMs = 1000 };
        room.BannedUserIds.Add("mallory");
        room.MutedUntilMs["bob"] = 5000;
        Assert.True(await Store.CreateRoomAsync(room, _ct));
        Assert.False(await Store.CreateRoomAsync(new RoomInfo { RoomId = "r1", Title = "Other" }, _ct));
        Assert.Equal(room, await Store.GetRoomAsync("r1", _ct));

        var changed = room.Clone();
        changed.AllMuted = true;
        changed.SlowModeSeconds = 10;
        changed.BannedUserIds.Clear();
        changed.MutedUntilMs.Remove("bob");
        await Store.UpdateRoomAsync(changed, _ct);

        Assert.Equal(changed, await Store.GetRoomAsync("r1", _ct));
        Assert.Null(await Store.GetRoomAsync("nope", _ct));
    }

    [Fact]
    public async Task Replay_InSeqOrder_AfterASeq_Paged_PerRoom_FirstCopyWins()
    {
        foreach (var seq in new long[] { 3, 1, 2, 4, 5 })
        {
            await Store.AppendReplayAsync("r1", Gift(seq, 1000 + seq), _ct);
        }

        await Store.AppendReplayAsync("r2", Gift(1, 1000, "zed"), _ct);
        await Store.AppendReplayAsync("r1", Gift(2, 9999, "duplicate"), _ct);

        Assert.Equal([3L, 4, 5], (await Store.ReadReplayAsync("r1", 2, 10, _ct)).Select(m => m.Seq));
        Assert.Equal([1L, 2], (await Store.ReadReplayAsync("r1", 0, 2, _ct)).Select(m => m.Seq));
        Assert.Equal("alice", (await Store.ReadReplayAsync("r1", 1, 1, _ct)).Single().SenderId);
        Assert.Equal(Gift(4, 1004), (await Store.ReadReplayAsync("r1", 3, 1, _ct)).Single());
        Assert.Equal("zed", (await Store.ReadReplayAsync("r2", 0, 10, _ct)).Single().SenderId);
        Assert.Empty(await Store.ReadReplayAsync("r1", 5, 10, _ct));
        Assert.Equal(5, await Store.GetMaxSeqAsync("r1", _ct));
        Assert.Equal(1, await Store.GetMaxSeqAsync("r2", _ct));
        Assert.Equal(0, await Store.GetMaxSeqAsync("none", _ct));
    }

    [Fact]
    public async Task Trim_ForgetsOldEntries_ButKeepsEachRoomsNewest()
    {
        for (var seq = 1; seq <= 5; seq++)
        {
            await Store.AppendReplayAsync("r1", Gift(seq, seq * 100), _ct);
        }

        await Store.AppendReplayAsync("r2", Gift(1, 100), _ct);

        Assert.Equal(3, await Store.TrimReplayAsync(olderThanMs: 350, _ct)); // r1 seq 1-3 go; r1 4-5 are newer; r2's only entry stays

        Assert.Equal([4L, 5], (await Store.ReadReplayAsync("r1", 0, 10, _ct)).Select(m => m.Seq));
        Assert.Equal(5, await Store.GetMaxSeqAsync("r1", _ct));
        Assert.Equal(1, await Store.GetMaxSeqAsync("r2", _ct));
        Assert.Equal(1, await Store.TrimReplayAsync(olderThanMs: 10_000, _ct)); // r1's 4 goes, 5 stays as the newest
        Assert.Equal(5, await Store.GetMaxSeqAsync("r1", _ct));
    }
}
