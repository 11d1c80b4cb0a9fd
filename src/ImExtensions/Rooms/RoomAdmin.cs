using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Rooms.Store;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// Operator actions on rooms (HTTP admin API): create, close, ban/unban, mute a user, mute all, slow mode, rate.
/// Each change is stored, then announced on the room's bus so every node with viewers applies it at once.
/// </summary>
internal sealed class RoomAdmin(IRoomStore store, RoomCatalog catalog, IRoomBus bus, IOptions<RoomOptions> options, TimeProvider time)
{
    public async Task<RoomInfo> CreateAsync(RoomInfo requested, CancellationToken cancellationToken)
    {
        if (!UserIds.IsValid(requested.RoomId))
        {
            throw new RoomAdminException("invalid_request", "roomId: a room id follows the user id rule: " + UserIds.Rule);
        }

        Validate(requested);
        var room = requested.Clone();
        room.Closed = false;
        room.CreatedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        room.Viewers = 0;
        room.LastSeq = 0;
        if (!await store.CreateRoomAsync(room, cancellationToken).ConfigureAwait(false))
        {
            throw new RoomAdminException("already_exists", $"room {room.RoomId} exists already");
        }

        catalog.Invalidate(room.RoomId);
        return room;
    }

    public async Task<RoomInfo> GetAsync(string roomId, CancellationToken cancellationToken)
    {
        var room = (await LoadAsync(roomId, cancellationToken).ConfigureAwait(false)).Clone();
        room.Viewers = await bus.CountViewersAsync(roomId, cancellationToken).ConfigureAwait(false);
        room.LastSeq = await bus.CurrentSeqAsync(roomId, cancellationToken).ConfigureAwait(false);
        return room;
    }

    public Task<RoomInfo> CloseAsync(string roomId, CancellationToken cancellationToken) =>
        ChangeAsync(roomId, room => room.Closed = true, new RoomEnvelope { Control = "close" }, cancellationToken);

    public Task<RoomInfo> BanAsync(string roomId, IReadOnlyList<string> userIds, CancellationToken cancellationToken) =>
        ChangeAsync(roomId, room =>
        {
            foreach (var userId in userIds.Where(u => !room.BannedUserIds.Contains(u)))
            {
                room.BannedUserIds.Add(userId);
            }
        }, null, cancellationToken, bannedUsers: userIds);

    public Task<RoomInfo> UnbanAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        ChangeAsync(roomId, room => room.BannedUserIds.Remove(userId), new RoomEnvelope { Control = "settings" }, cancellationToken);

    /// <summary>Mutes the users for <paramref name="seconds"/> (0 unmutes).</summary>
    public Task<RoomInfo> MuteAsync(string roomId, IReadOnlyList<string> userIds, long seconds, CancellationToken cancellationToken) =>
        ChangeAsync(roomId, room =>
        {
            var until = time.GetUtcNow().ToUnixTimeMilliseconds() + (seconds * 1000);
            foreach (var userId in userIds)
            {
                if (seconds > 0)
                {
                    room.MutedUntilMs[userId] = until;
                }
                else
                {
                    room.MutedUntilMs.Remove(userId);
                }
            }
        }, new RoomEnvelope { Control = "settings" }, cancellationToken);

    public Task<RoomInfo> UpdateSettingsAsync(string roomId, RoomSettingsChange change, CancellationToken cancellationToken) =>
        ChangeAsync(roomId, room =>
        {
            room.AllMuted = change.AllMuted ?? room.AllMuted;
            room.SlowModeSeconds = change.SlowModeSeconds ?? room.SlowModeSeconds;
            room.MaxMessagesPerSecond = change.MaxMessagesPerSecond ?? room.MaxMessagesPerSecond;
            room.Public = change.Public ?? room.Public;
            room.Title = change.Title ?? room.Title;
            Validate(room);
        }, new RoomEnvelope { Control = "settings" }, cancellationToken);

    private async Task<RoomInfo> ChangeAsync(string roomId, Action<RoomInfo> change, RoomEnvelope? control, CancellationToken cancellationToken,
        IReadOnlyList<string>? bannedUsers = null)
    {
        var room = await LoadAsync(roomId, cancellationToken).ConfigureAwait(false);
        change(room);
        await store.UpdateRoomAsync(room, cancellationToken).ConfigureAwait(false);
        catalog.Invalidate(roomId);
        if (control is not null)
        {
            control.RoomId = roomId;
            await bus.PublishAsync(control, cancellationToken).ConfigureAwait(false);
        }

        foreach (var userId in bannedUsers ?? [])
        {
            await bus.PublishAsync(new RoomEnvelope { RoomId = roomId, Control = "ban", UserId = userId }, cancellationToken).ConfigureAwait(false);
        }

        return room;
    }

    private async Task<RoomInfo> LoadAsync(string roomId, CancellationToken cancellationToken) =>
        await store.GetRoomAsync(roomId, cancellationToken).ConfigureAwait(false)
            ?? throw new RoomAdminException("not_found", $"room {roomId} does not exist");

    private void Validate(RoomInfo room)
    {
        if (room.MaxMessagesPerSecond is < 0 or > 100_000)
        {
            throw new RoomAdminException("invalid_request", "maxMessagesPerSecond must be 0-100000 (0 = Rooms:DefaultMessagesPerSecond, " + options.Value.DefaultMessagesPerSecond + ")");
        }

        if (room.SlowModeSeconds is < 0 or > 86_400)
        {
            throw new RoomAdminException("invalid_request", "slowModeSeconds must be 0-86400");
        }
    }
}

/// <summary>A settings change from the admin API: absent fields stay as they are.</summary>
internal sealed record RoomSettingsChange(bool? AllMuted, int? SlowModeSeconds, int? MaxMessagesPerSecond, bool? Public, string? Title);

/// <summary>A refused admin action, with a stable code (not_found, already_exists, invalid_request).</summary>
internal sealed class RoomAdminException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
