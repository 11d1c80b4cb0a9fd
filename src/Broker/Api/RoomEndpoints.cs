using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Rooms;

namespace MqttIm.Broker.Api;

/// <summary>Live-room administration and back-end sends over HTTP (admin key); answers are proto3 JSON <c>RoomInfo</c>.</summary>
internal static class RoomEndpoints
{
    public static IEndpointRouteBuilder MapRoomEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var rooms = endpoints.MapAdminGroup("/api/admin/rooms");
        rooms.MapPost("", (CreateRoom body, RoomAdmin admin, CancellationToken ct) => Run(() => admin.CreateAsync(new RoomInfo
        {
            RoomId = body.RoomId ?? "",
            Title = body.Title ?? "",
            Public = body.Public ?? true,
            MaxMessagesPerSecond = body.MaxMessagesPerSecond ?? 0,
            SlowModeSeconds = body.SlowModeSeconds ?? 0,
        }, ct), StatusCodes.Status201Created));
        rooms.MapGet("/{roomId}", (string roomId, RoomAdmin admin, CancellationToken ct) => Run(() => admin.GetAsync(roomId, ct)));
        rooms.MapDelete("/{roomId}", (string roomId, RoomAdmin admin, CancellationToken ct) => Run(() => admin.CloseAsync(roomId, ct)));
        rooms.MapPost("/{roomId}/bans", (string roomId, Users body, RoomAdmin admin, CancellationToken ct) => Run(() => admin.BanAsync(roomId, body.UserIds ?? [], ct)));
        rooms.MapDelete("/{roomId}/bans/{userId}", (string roomId, string userId, RoomAdmin admin, CancellationToken ct) => Run(() => admin.UnbanAsync(roomId, userId, ct)));
        rooms.MapPost("/{roomId}/mutes", (string roomId, Mute body, RoomAdmin admin, CancellationToken ct) =>
            Run(() => admin.MuteAsync(roomId, body.UserIds ?? [], body.MuteSeconds ?? 0, ct)));
        rooms.MapPost("/{roomId}/settings", (string roomId, Settings body, RoomAdmin admin, CancellationToken ct) =>
            Run(() => admin.UpdateSettingsAsync(roomId, new RoomSettingsChange(body.AllMuted, body.SlowModeSeconds, body.MaxMessagesPerSecond, body.Public, body.Title), ct)));
        rooms.MapPost("/{roomId}/messages", async (string roomId, Send body, RoomSender sender, CancellationToken ct) =>
        {
            var send = new RoomSend { Kind = body.Kind ?? "", Text = body.Text ?? "", GiftId = body.GiftId ?? "", GiftCount = body.GiftCount ?? 0, LikeCount = body.LikeCount ?? 0, ClientMsgId = body.ClientMsgId ?? "" };
            var result = await sender.SendAsync(roomId, body.SenderId ?? "system", send, fromBackend: true, ct);
            return result.Rejection is { } rejection
                ? Results.Problem(title: rejection.Code, detail: rejection.Message, statusCode: StatusOf(rejection))
                : Results.Ok(new { roomId, seq = result.Seq });
        });
        return endpoints;
    }

    private static int StatusOf(UplinkRejection rejection) => rejection.Code switch
    {
        "room_unavailable" => StatusCodes.Status404NotFound,
        "not_authorized" or "banned" or "muted" => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status400BadRequest,
    };

    private static async Task<IResult> Run(Func<Task<RoomInfo>> operation, int status = StatusCodes.Status200OK)
    {
        try
        {
            var json = Google.Protobuf.JsonFormatter.Default.Format(await operation());
            return Results.Text(json, "application/json", statusCode: status);
        }
        catch (RoomAdminException ex)
        {
            var code = ex.Code switch
            {
                "not_found" => StatusCodes.Status404NotFound,
                "already_exists" => StatusCodes.Status409Conflict,
                _ => StatusCodes.Status400BadRequest,
            };
            return Results.Problem(title: ex.Code, detail: ex.Message, statusCode: code);
        }
    }

    /// <summary><c>public</c> defaults to true; <c>maxMessagesPerSecond</c> 0 = <c>Rooms:DefaultMessagesPerSecond</c>.</summary>
    internal sealed record CreateRoom(string? RoomId, string? Title, bool? Public, int? MaxMessagesPerSecond, int? SlowModeSeconds);

    internal sealed record Users(string[]? UserIds);

    /// <summary>Mutes the users for <c>muteSeconds</c> (0 unmutes).</summary>
    internal sealed record Mute(string[]? UserIds, long? MuteSeconds);

    internal sealed record Settings(bool? AllMuted, int? SlowModeSeconds, int? MaxMessagesPerSecond, bool? Public, string? Title);

    /// <summary>A back-end send: any kind including <c>system</c>; <c>senderId</c> defaults to "system".</summary>
    internal sealed record Send(string? Kind, string? Text, string? GiftId, int? GiftCount, int? LikeCount, string? ClientMsgId, string? SenderId);
}
