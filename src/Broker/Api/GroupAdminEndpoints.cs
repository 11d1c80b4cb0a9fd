using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Groups;

namespace MqttIm.Broker.Api;

/// <summary>Operators manage groups over HTTP (admin key); members do the same over <c>im/rpc/group/…</c> with role checks.</summary>
internal static class GroupAdminEndpoints
{
    public static IEndpointRouteBuilder MapGroupAdminEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var groups = endpoints.MapAdminGroup("/api/admin/groups");
        groups.MapPost("", (CreateGroup body, GroupService service, CancellationToken ct) => Run(() =>
            service.CreateAsync(GroupActor.Operator(body.OwnerId ?? ""), body.GroupId, body.Name ?? "", body.OwnerId ?? "", body.MemberIds ?? [], ct)));
        groups.MapGet("/{groupId}", (string groupId, GroupService service, CancellationToken ct) => Run(() =>
            service.GetInfoAsync(GroupActor.Operator("admin"), groupId, ct)));
        groups.MapPost("/{groupId}/members", (string groupId, Members body, GroupService service, CancellationToken ct) => Run(() =>
            service.AddMembersAsync(GroupActor.Operator("admin"), groupId, body.UserIds ?? [], ct)));
        groups.MapDelete("/{groupId}/members/{userId}", (string groupId, string userId, GroupService service, CancellationToken ct) => Run(() =>
            service.RemoveMembersAsync(GroupActor.Operator("admin"), groupId, [userId], ct)));
        groups.MapDelete("/{groupId}", (string groupId, GroupService service, CancellationToken ct) => Run(() =>
            service.DissolveAsync(GroupActor.Operator("admin"), groupId, ct)));
        groups.MapPost("/{groupId}/rename", (string groupId, Rename body, GroupService service, CancellationToken ct) => Run(() =>
            service.RenameAsync(GroupActor.Operator("admin"), groupId, body.Name ?? "", ct)));
        groups.MapPost("/{groupId}/roles", (string groupId, Roles body, GroupService service, CancellationToken ct) => Run(() =>
            service.SetRoleAsync(GroupActor.Operator("admin"), groupId, body.UserIds ?? [], body.Admin ? GroupRole.Admin : GroupRole.Member, ct)));
        groups.MapPost("/{groupId}/mute", (string groupId, Mute body, GroupService service, CancellationToken ct) => Run(() =>
            service.MuteAsync(GroupActor.Operator("admin"), groupId, body.UserIds ?? [], body.MuteSeconds ?? 0, body.AllMuted ?? false, ct)));
        return endpoints;
    }

    private static async Task<IResult> Run(Func<Task<GroupInfo>> operation)
    {
        try
        {
            // proto3 JSON, the same shape MQTT clients see.
            return Results.Text(Google.Protobuf.JsonFormatter.Default.Format(await operation()), "application/json");
        }
        catch (GroupOperationException ex)
        {
            var status = ex.Code switch
            {
                "not_found" => StatusCodes.Status404NotFound,
                "already_exists" => StatusCodes.Status409Conflict,
                "not_authorized" => StatusCodes.Status403Forbidden,
                _ => StatusCodes.Status400BadRequest,
            };
            return Results.Problem(title: ex.Code, detail: ex.Message, statusCode: status);
        }
    }

    internal sealed record CreateGroup(string? GroupId, string? Name, string? OwnerId, string[]? MemberIds);

    internal sealed record Members(string[]? UserIds);

    internal sealed record Rename(string? Name);

    /// <summary>Makes the users admins (<c>admin: true</c>) or plain members.</summary>
    internal sealed record Roles(string[]? UserIds, bool Admin);

    /// <summary>Mutes users for <c>muteSeconds</c> (0 unmutes), or with no users switches the whole group's mute.</summary>
    internal sealed record Mute(string[]? UserIds, long? MuteSeconds, bool? AllMuted);
}
