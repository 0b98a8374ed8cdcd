using System.Text.Json.Nodes;

namespace Twill.KubeApi;

/// <summary>
/// A failure the API answers with a <c>Status</c> object, as k8s.io/apimachinery's StatusError does:
/// the HTTP code, the machine-readable reason and the message kube-apiserver would write.
/// </summary>
internal sealed class ApiError(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    public int Code { get; } = code;

    public string Reason { get; } = reason;

    public JsonObject? Details { get; } = details;

    public JsonObject ToStatus() => Status(Code, Reason, Message, Details?.DeepClone().AsObject());

    public static JsonObject Status(int code, string reason, string message, JsonObject? details)
    {
        JsonObject status = new()
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
        };
        if (details is not null)
        {
            status["details"] = details;
        }
        status["code"] = code;
        return status;
    }

    private static JsonObject NameDetails(string resource, string name) => new() { ["name"] = name, ["kind"] = resource };

    public static ApiError NotFound(string resource, string name) =>
        new(404, "NotFound", $"{resource} \"{name}\" not found", NameDetails(resource, name));

    public static ApiError AlreadyExists(string resource, string name) =>
        new(409, "AlreadyExists", $"{resource} \"{name}\" already exists", NameDetails(resource, name));

    public static ApiError Conflict(string resource, string name, string why) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {resource} \"{name}\": {why}", NameDetails(resource, name));

    public static ApiError StaleResourceVersion(string resource, string name) =>
        Conflict(resource, name, "the object has been modified; please apply your changes to the latest version and try again");

    public static ApiError BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiError Unauthorized() => new(401, "Unauthorized", "Unauthorized");

    public static ApiError Expired(string message) => new(410, "Expired", message);

    public static ApiError MethodNotAllowed() => new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");

    public static ApiError NotFoundPath() => new(404, "NotFound", "the server could not find the requested resource");

    public static ApiError UnsupportedMediaType(string contentType) =>
        new(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got \"{contentType}\")");

    public static ApiError Internal(string message) => new(500, "InternalError", $"Internal error occurred: {message}");

    public static ApiError Unavailable(string message) => new(503, "ServiceUnavailable", message);

    /// <summary>A validation failure (422) in the shape of field.ErrorList: the kind, the name and every cause.</summary>
    public static ApiError Invalid(string kind, string name, IReadOnlyList<FieldError> causes)
    {
        JsonArray list = [];
        foreach (FieldError c in causes)
        {
            list.Add((JsonNode)new JsonObject { ["reason"] = c.Reason, ["message"] = c.Message, ["field"] = c.Field });
        }
        string summary = causes.Count == 1 ? causes[0].ToString() : "[" + string.Join(", ", causes) + "]";
        return new ApiError(422, "Invalid", $"{kind} \"{name}\" is invalid: {summary}",
            new JsonObject { ["name"] = name, ["kind"] = kind, ["causes"] = list });
    }

    /// <summary>A patch that decoded but could not be applied (kube-apiserver answers these with 422 and no details).</summary>
    public static ApiError UnprocessablePatch(string message) => new(422, "Invalid", message);
}

/// <summary>One cause of a validation failure, as field.Error renders it.</summary>
internal sealed record FieldError(string Field, string Reason, string Detail, string? BadValue = null)
{
    public static FieldError InvalidValue(string field, string? value, string detail) => new(field, "FieldValueInvalid", detail, value ?? "");

    public static FieldError Required(string field, string detail) => new(field, "FieldValueRequired", detail);

    public static FieldError Forbidden(string field, string detail) => new(field, "FieldValueForbidden", detail);

    public string Message => Reason switch
    {
        "FieldValueInvalid" => $"Invalid value: \"{BadValue}\": {Detail}",
        "FieldValueRequired" => string.IsNullOrEmpty(Detail) ? "Required value" : $"Required value: {Detail}",
        "FieldValueForbidden" => $"Forbidden: {Detail}",
        _ => Detail,
    };

    public override string ToString() => $"{Field}: {Message}";
}
