"""calls models of the engine: Call, Response, Question, Answer, Complaint, SupplierQualification."""

__all__: list[str] = []
