using MqttIm.ImExtensions.Notifications;

namespace MqttIm.Broker.Api;

/// <summary><c>POST /api/admin/notifications</c>: back-end services notify users or a group (system notice, todo reminder, approval …).</summary>
internal static class NotificationEndpoints
{
    public static IEndpointRouteBuilder MapNotificationEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapAdminGroup("/api/admin/notifications").MapPost("", async (NotifyBody body, NotificationService notifications, CancellationToken ct) =>
        {
            try
            {
                var sent = await notifications.SendAsync(
                    new NotificationRequest(body.UserIds ?? [], body.GroupId, body.Priority ?? 2, body.Type ?? "", body.Title, body.Text, body.Data),
                    ct);
                return Results.Ok(new { notifications = sent.Select(m => new { userId = m.RecipientId, conversationId = m.ConversationId, seq = m.Seq }) });
            }
            catch (ArgumentException ex)
            {
                return Results.Problem(title: "invalid notification", detail: ex.Message, statusCode: StatusCodes.Status400BadRequest);
            }
        });
        return endpoints;
    }

    internal sealed record NotifyBody(string[]? UserIds, string? GroupId, int? Priority, string? Type, string? Title, string? Text, Dictionary<string, string>? Data);
}
